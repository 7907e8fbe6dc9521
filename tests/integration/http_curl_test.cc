// curl, a real client, against the server: keep-alive reuse, bodies (also chunked and with
// Expect: 100-continue), HEAD and HTTP/1.0. curl runs on a thread of its own while the test's
// loop serves.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>

#include "herd/http/server.h"
#include "unit/http_test_client.h"

namespace herd::http {
namespace {

using test::HttpHarness;

// Runs `command` on a thread while `h.loop` serves; returns its standard output.
std::string run_while_serving(HttpHarness& h, const std::string& command) {
  std::atomic<bool> finished{false};
  std::string output;
  std::thread runner([&] {
    FILE* p = ::popen(command.c_str(), "r");
    if (p != nullptr) {
      char buf[4096];
      std::size_t n;
      while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) output.append(buf, n);
      ::pclose(p);
    }
    finished = true;
  });
  bool ok = test::run_until(
      h.loop, [&] { return finished.load(); }, std::chrono::seconds(30));
  runner.join();
  EXPECT_TRUE(ok) << command;
  return output;
}

class HttpCurl : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access("/usr/bin/curl", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/curl";
    ASSERT_TRUE(h_.start([](const Request& req, Response res) {
      res.set_header("Content-Type", "text/plain");
      res.end(std::string(req.method()) + " " + std::string(req.target()) + " " + req.body());
    }));
    base_ = "http://" + h_.address.to_string();
  }
  std::string curl(const std::string& args) {
    return run_while_serving(h_, "/usr/bin/curl -sS --max-time 20 " + args + " 2>&1");
  }
  HttpHarness h_;
  std::string base_;
};

TEST_F(HttpCurl, ReusesTheConnection) {
  std::string out = curl("-w ' [%{http_code} %{num_connects}]\\n' " + base_ + "/a " + base_ + "/b");
  EXPECT_EQ(out, "GET /a  [200 1]\nGET /b  [200 0]\n");
  EXPECT_EQ(h_.server->metrics().total_connections, 1u);
}

TEST_F(HttpCurl, PostBodies) {
  EXPECT_EQ(curl("--data-binary hello " + base_ + "/p"), "POST /p hello");
  EXPECT_EQ(curl("-H 'Transfer-Encoding: chunked' --data-binary chunked-body " + base_ + "/c"),
            "POST /c chunked-body");
  EXPECT_EQ(curl("-H 'Expect: 100-continue' --data-binary waited " + base_ + "/e"),
            "POST /e waited");
}

TEST_F(HttpCurl, HeadAndHttp10) {
  std::string head = curl("-I " + base_ + "/h");
  EXPECT_NE(head.find("HTTP/1.1 200 OK"), std::string::npos) << head;
  EXPECT_NE(head.find("Content-Length: 8"), std::string::npos) << head;  // "HEAD /h "
  EXPECT_EQ(curl("-0 " + base_ + "/old"), "GET /old ");
}

}  // namespace
}  // namespace herd::http
