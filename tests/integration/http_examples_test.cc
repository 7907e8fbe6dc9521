// The examples as their users run them: build/bin/hello and build/bin/encrypt started as real
// processes (found next to this test binary), driven by curl and by plain sockets, under socket
// activation (a listening socket handed over at descriptor 3 with LISTEN_FDS, as herd and
// systemd do) and with sd_notify readiness. Every process a test starts is killed by pid when
// the test ends, pass or fail (and by the kernel if this process dies: PR_SET_PDEATHSIG).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "integration/example_process.h"

namespace herd {
namespace {

// ---------------------------------------------------------------------------------------------
// hello

class HelloExample : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kCurl, X_OK) != 0) GTEST_SKIP() << kCurl << " is not installed";
    ASSERT_EQ(::access((bin_dir() + "/hello").c_str(), X_OK), 0) << "no hello next to the test";
  }
};

TEST_F(HelloExample, CurlGetsExactlyHelloWorldOnAnAdoptedSocket) {
  Fd socket = listening_socket();
  int port = port_of(socket);
  // The server listens on the port of the socket it is handed; --port 0 would mean the same.
  auto hello =
      start_adopted("hello", socket, {"--host", "127.0.0.1", "--port", std::to_string(port)});
  ASSERT_TRUE(hello);
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
  // No waiting for the server: connections queue on the inherited socket until it accepts.
  auto plain = run({kCurl, "-sS", "--max-time", "10", url});
  ASSERT_EQ(plain.code, 0) << plain.err << hello->err();
  EXPECT_EQ(plain.out, "Hello World!\n");

  auto heads = run({kCurl, "-sS", "-i", "--max-time", "10", url});
  ASSERT_EQ(heads.code, 0) << heads.err;
  std::string lower = heads.out;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  EXPECT_TRUE(lower.starts_with("http/1.1 200 ok\r\n")) << heads.out;
  EXPECT_NE(lower.find("\r\ncontent-length: 13\r\n"), std::string::npos) << heads.out;
  EXPECT_NE(lower.find("\r\ndate: "), std::string::npos) << heads.out;
  EXPECT_TRUE(heads.out.ends_with("\r\n\r\nHello World!\n")) << heads.out;

  // Two URLs in one curl: the second reuses the first connection (keep-alive).
  auto twice = run({kCurl, "-sS", "-v", "--max-time", "10", "-w", "[connects=%{num_connects}]", url,
                    url + "again"});
  ASSERT_EQ(twice.code, 0) << twice.err;
  EXPECT_EQ(twice.out, "Hello World!\n[connects=1]Hello World!\n[connects=0]") << twice.err;
  EXPECT_NE(twice.err.find("Re-using existing connection"), std::string::npos) << twice.err;
}

TEST_F(HelloExample, PortComesFromTheFlagOrTheEnvironment) {
  for (bool from_env : {false, true}) {
    SCOPED_TRACE(from_env ? "PORT=" : "--port");
    int port = free_port();
    Spawn spec{{bin_dir() + "/hello", "--host", "127.0.0.1"}, {}, {}, false};
    if (from_env) {
      spec.env.push_back("PORT=" + std::to_string(port));
    } else {
      spec.argv.push_back("--port=" + std::to_string(port));
    }
    auto hello = Process::start(spec);
    ASSERT_TRUE(hello);
    ASSERT_TRUE(
        hello->wait_for_stderr("listening on 127.0.0.1:" + std::to_string(port), seconds(10)))
        << hello->err();
    auto r =
        run({kCurl, "-sS", "--max-time", "10", "http://127.0.0.1:" + std::to_string(port) + "/x"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "Hello World!\n");
  }
}

TEST_F(HelloExample, NotifiesReadyAndExitsZeroOnSigterm) {
  NotifySocket notify;
  Fd socket = listening_socket();
  int port = port_of(socket);
  auto hello =
      start_adopted("hello", socket, {"--host", "127.0.0.1", "--port", "0"}, {notify.env()});
  ASSERT_TRUE(hello);
  ASSERT_TRUE(notify.wait_for("READY=1", seconds(10))) << hello->err();
  EXPECT_EQ(body_of(http_get(port, "/")), "Hello World!\n");

  ASSERT_EQ(::kill(hello->pid(), SIGTERM), 0);
  auto code = hello->wait_exit(seconds(15));
  ASSERT_TRUE(code.has_value()) << "hello did not exit within 15 s of SIGTERM: " << hello->err();
  EXPECT_EQ(*code, 0) << hello->err();
  // The datagram was queued before the process exited.
  EXPECT_TRUE(notify.wait_for("STOPPING=1", seconds(1))) << "no STOPPING=1";
}

TEST_F(HelloExample, ReadyMeansListeningWhenItBindsItself) {
  NotifySocket notify;
  int port = free_port();
  auto hello =
      Process::start({{bin_dir() + "/hello", "--host", "127.0.0.1", "--port", std::to_string(port)},
                      {notify.env()},
                      {},
                      false});
  ASSERT_TRUE(hello);
  ASSERT_TRUE(notify.wait_for("READY=1", seconds(10))) << hello->err();
  // No retry: READY=1 is only sent once the socket accepts connections.
  Fd c = connect_to(port);
  ASSERT_TRUE(c.valid()) << "connect right after READY=1: " << std::strerror(errno);
  ASSERT_TRUE(send_all(c, get_request("/")));
  EXPECT_EQ(body_of(read_to_eof(c, seconds(10))), "Hello World!\n");
  // Closed from this side too: the server lingers up to 2 s on a connection it closed until the
  // client closes its end, and a graceful stop waits for that.
  c.reset();

  ASSERT_EQ(::kill(hello->pid(), SIGINT), 0);
  auto code = hello->wait_exit(seconds(15));
  ASSERT_TRUE(code.has_value()) << "hello did not exit within 15 s of SIGINT: " << hello->err();
  EXPECT_EQ(*code, 0) << hello->err();
}

TEST_F(HelloExample, TakenPortIsAClearErrorWithExitCode1) {
  Fd taken = listening_socket();
  int port = port_of(taken);
  auto r = run({bin_dir() + "/hello", "--host", "127.0.0.1", "--port", std::to_string(port)},
               seconds(15));
  ASSERT_TRUE(r.code.has_value()) << "hello kept running on a taken port: " << r.err;
  EXPECT_EQ(*r.code, 1);
  EXPECT_NE(r.err.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Address already in use"), std::string::npos) << r.err;
}

TEST_F(HelloExample, BadArgumentsExitWith1AndSayWhy) {
  const std::vector<std::vector<std::string>> cases = {
      {"--port", "http"}, {"--port", "70000"}, {"--port"}, {"--bogus"}, {"--host", "not a host"}};
  for (const auto& args : cases) {
    std::vector<std::string> argv{bin_dir() + "/hello"};
    argv.insert(argv.end(), args.begin(), args.end());
    SCOPED_TRACE(args[0] + (args.size() > 1 ? " " + args[1] : ""));
    auto r = run(argv, seconds(15));
    ASSERT_TRUE(r.code.has_value()) << r.err;
    EXPECT_EQ(*r.code, 1);
    EXPECT_TRUE(r.err.starts_with("hello: ")) << r.err;
    EXPECT_NE(r.err.find("usage: hello"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace herd
