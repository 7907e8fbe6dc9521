// Server metrics: the counters match the traffic, the Prometheus text passes promtool, and the
// loop-lag probe sees a blocked loop.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include "herd/http/server.h"
#include "unit/http_test_client.h"

namespace herd::http {
namespace {

using test::HttpHarness;

// "name{labels} value" lines of a Prometheus text page, by "name{labels}".
std::map<std::string, double> samples(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::size_t space = line.rfind(' ');
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

Handler handler() {
  return [](const Request& req, Response res) {
    if (req.target() == "/missing") res.set_status(404);
    res.end("body");
  };
}

TEST(HttpMetrics, CountersMatchTheTraffic) {
  HttpHarness h;
  ServerOptions o;
  o.metrics_path = "/metrics";
  ASSERT_TRUE(h.start(handler(), o));
  auto c = h.connect();
  std::uint64_t sent = 0;
  auto send = [&](test::HttpTestClient& client, const std::string& req) {
    client.send(req);
    sent += req.size();
  };
  for (int i = 0; i < 5; ++i) send(*c, "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n");
  for (int i = 0; i < 2; ++i) send(*c, "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(c->wait_replies(7));
  {
    auto bad = h.connect();
    send(*bad, "BAD\r\n\r\n");
    ASSERT_TRUE(bad->wait_closed());
    EXPECT_EQ(bad->replies.at(0).status, 400);
    std::uint64_t received_by_bad = bad->raw.size();
    bad.reset();
    ASSERT_TRUE(
        test::run_until(h.loop, [&] { return h.server->metrics().active_connections == 1; }));
    const std::uint64_t received = c->raw.size() + received_by_bad;
    // Fetched over HTTP: the page describes the traffic before its own answer.
    send(*c, "GET /metrics?x=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(c->wait_replies(8));
    const auto& page = c->replies[7];
    EXPECT_EQ(page.status, 200);
    EXPECT_EQ(page.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    auto m = samples(page.body);
    EXPECT_EQ(m["herd_http_requests_total{code=\"2xx\"}"], 5);
    EXPECT_EQ(m["herd_http_requests_total{code=\"4xx\"}"], 3);
    EXPECT_EQ(m["herd_http_requests_total{code=\"5xx\"}"], 0);
    EXPECT_EQ(m["herd_http_active_connections"], 1);
    EXPECT_EQ(m["herd_http_connections_total"], 2);
    EXPECT_EQ(m["herd_http_received_bytes_total"], static_cast<double>(sent));
    EXPECT_EQ(m["herd_http_sent_bytes_total"], static_cast<double>(received));
    EXPECT_TRUE(m.contains("herd_event_loop_lag_seconds"));
  }
  // And the struct agrees, the metrics answer now counted.
  const ServerMetrics& m = h.server->metrics();
  EXPECT_EQ(m.requests_by_class[2], 6u);
  EXPECT_EQ(m.requests_by_class[4], 3u);
  EXPECT_EQ(m.bytes_in, sent);
}

TEST(HttpMetrics, MetricsPathIsOptIn) {
  HttpHarness h;
  ASSERT_TRUE(h.start(handler()));
  auto c = h.connect();
  c->send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(c->wait_replies(1));
  EXPECT_EQ(c->replies[0].body, "body");  // the handler's answer
}

TEST(HttpMetrics, TextPassesPromtool) {
  const char* promtool = "/usr/bin/promtool";
  if (::access(promtool, X_OK) != 0) GTEST_SKIP() << "no " << promtool;
  HttpHarness h;
  ASSERT_TRUE(h.start(handler()));
  auto c = h.connect();
  c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(c->wait_replies(1));
  char path[] = "/tmp/herd-metrics-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string text = h.server->metrics_text();
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fd);
  std::string cmd = std::string(promtool) + " check metrics < " + path + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string output;
  char buf[256];
  while (std::fgets(buf, sizeof(buf), p) != nullptr) output += buf;
  int status = ::pclose(p);
  ::unlink(path);
  EXPECT_EQ(status, 0) << output << "\n" << text;
  EXPECT_EQ(output, "") << text;  // no lint complaints either
}

TEST(HttpMetrics, LoopLagSeesABlockedLoop) {
  HttpHarness h;
  // The stimulus: a handler that blocks the loop for longer than the probe's interval.
  ASSERT_TRUE(h.start([](const Request&, Response res) {
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    res.end();
  }));
  auto c = h.connect();
  c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(c->wait_replies(1));
  EXPECT_TRUE(test::run_until(
      h.loop, [&] { return h.server->metrics().loop_lag_seconds >= 0.2; },
      std::chrono::seconds(5)));
}

}  // namespace
}  // namespace herd::http
