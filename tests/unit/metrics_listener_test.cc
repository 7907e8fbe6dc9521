// The daemon's /metrics responder on a loopback port: what each kind of request gets, and that
// every connection is answered and closed. A client thread talks to the listener on the test's
// loop (blocking sockets, each call bounded by a receive timeout).
#include "metrics/metrics_listener.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "herd/loop/event_loop.h"
#include "metrics/prometheus_text.h"
#include "support/wait.h"

namespace herd::manager {
namespace {

using test::run_until;

// Sends `request` to 127.0.0.1:`port` (optionally in two parts, `split` bytes first; then
// half-closes when `half_close`) and returns everything the server sent until it closed; "" on
// a connection error.
std::string exchange(std::uint16_t port, const std::string& request, std::size_t split = 0,
                     bool half_close = false) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {};
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    std::string first = request.substr(0, split), rest = request.substr(split);
    if (!first.empty()) ::send(fd, first.data(), first.size(), MSG_NOSIGNAL);
    if (!first.empty()) std::this_thread::yield();
    ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
    if (half_close) ::shutdown(fd, SHUT_WR);
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof(buf), 0)) > 0;) {
      out.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return out;
}

class MetricsListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    listener_ = std::make_unique<MetricsListener>(
        loop_,
        [this] {
          ++renders_;
          return std::string("herd_process_up{app=\"a\",id=\"0\"} 1\n");
        },
        [this] {
          ++readiness_checks_;
          return not_ready_;
        });
    ASSERT_TRUE(listener_->listen(0).has_value());
    ASSERT_EQ(listener_->address().rfind("127.0.0.1:", 0), 0u) << listener_->address();
    port_ = static_cast<std::uint16_t>(std::stoi(listener_->address().substr(10)));
    ASSERT_NE(port_, 0);
  }

  // Runs the exchange on a thread while the loop serves it.
  std::string run(const std::string& request, std::size_t split = 0, bool half_close = false) {
    std::atomic<bool> done{false};
    std::string reply;
    std::thread client([&] {
      reply = exchange(port_, request, split, half_close);
      done = true;
    });
    bool finished = run_until(
        loop_, [&] { return done.load(); }, std::chrono::seconds(20));
    client.join();
    EXPECT_TRUE(finished) << "no answer to " << request;
    return reply;
  }

  EventLoop loop_;
  std::unique_ptr<MetricsListener> listener_;
  std::uint16_t port_ = 0;
  int renders_ = 0;
  int readiness_checks_ = 0;
  std::string not_ready_;  // what the readiness callback answers
};

TEST_F(MetricsListenerTest, GetMetricsAnswersWithThePrometheusText) {
  std::string reply = run("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n\r\n");
  std::string body = "herd_process_up{app=\"a\",id=\"0\"} 1\n";
  EXPECT_EQ(reply, "HTTP/1.1 200 OK\r\nContent-Type: " + std::string(kPrometheusContentType) +
                       "\r\nContent-Length: " + std::to_string(body.size()) +
                       "\r\nConnection: close\r\n\r\n" + body);
  EXPECT_EQ(renders_, 1);
  // A query string is allowed (Prometheus' params), and the head may arrive in pieces.
  reply = run("GET /metrics?x=1 HTTP/1.0\r\n\r\n", 7);
  EXPECT_EQ(reply.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << reply;
  EXPECT_EQ(renders_, 2);
}

TEST_F(MetricsListenerTest, HeadHasTheHeadersWithoutTheBody) {
  std::string reply = run("HEAD /metrics HTTP/1.1\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << reply;
  EXPECT_NE(reply.find("Content-Length: 34\r\n"), std::string::npos) << reply;
  EXPECT_EQ(reply.substr(reply.size() - 4), "\r\n\r\n") << reply;
}

TEST_F(MetricsListenerTest, OtherPathsMethodsAndGarbageGetErrors) {
  EXPECT_EQ(run("GET / HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u);
  EXPECT_EQ(run("GET /metricsx HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 404 ", 0), 0u);
  std::string reply = run("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0), 0u) << reply;
  EXPECT_NE(reply.find("Allow: GET, HEAD\r\n"), std::string::npos) << reply;
  EXPECT_EQ(run("hello there\r\n\r\n").rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u);
  EXPECT_EQ(run("GET /metrics HTTP/2.0\r\n\r\n").rfind("HTTP/1.1 400 ", 0), 0u);
  EXPECT_EQ(run("GET /metrics\r\n\r\n").rfind("HTTP/1.1 400 ", 0), 0u);
  std::string huge = "GET /metrics HTTP/1.1\r\nX-Pad: " + std::string(9000, 'x');
  EXPECT_EQ(run(huge).rfind("HTTP/1.1 431 ", 0), 0u);
  EXPECT_EQ(renders_, 0);
}

TEST_F(MetricsListenerTest, HealthzSaysTheDaemonAnswers) {
  EXPECT_EQ(run("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n"
            "Connection: close\r\n\r\nok\n");
  EXPECT_EQ(run("HEAD /healthz HTTP/1.0\r\n\r\n"),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n"
            "Connection: close\r\n\r\n");
  EXPECT_EQ(renders_, 0);
  EXPECT_EQ(readiness_checks_, 0);
}

TEST_F(MetricsListenerTest, ReadyzAnswers503WithWhatIsNotReady) {
  EXPECT_EQ(run("GET /readyz HTTP/1.1\r\n\r\n"),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n"
            "Connection: close\r\n\r\nok\n");
  not_ready_ = "not ready: api 1 launching";
  EXPECT_EQ(run("GET /readyz?verbose HTTP/1.1\r\n\r\n"),
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 27\r\nConnection: close\r\n\r\nnot ready: api 1 launching\n");
  std::string head = run("HEAD /readyz HTTP/1.1\r\n\r\n");
  EXPECT_EQ(head.rfind("HTTP/1.1 503 ", 0), 0u) << head;
  EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n") << head;
  EXPECT_EQ(readiness_checks_, 3);
  // Other methods on the probes are refused as on /metrics; near-miss paths are not probes.
  EXPECT_EQ(run("POST /readyz HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 405 ", 0), 0u);
  EXPECT_EQ(run("GET /readyz/ HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 404 ", 0), 0u);
  EXPECT_EQ(run("GET /health HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 404 ", 0), 0u);
  EXPECT_EQ(readiness_checks_, 3);
}

TEST(MetricsListenerProbes, WithoutAReadinessCallbackItIsAlwaysReady) {
  EventLoop loop;
  MetricsListener listener(loop, [] { return std::string(); });
  ASSERT_TRUE(listener.listen(MetricsEndpoint{"127.0.0.1", 0}).has_value());
  auto port = static_cast<std::uint16_t>(std::stoi(listener.address().substr(10)));
  std::atomic<bool> done{false};
  std::string reply;
  std::thread client([&] {
    reply = exchange(port, "GET /readyz HTTP/1.1\r\n\r\n");
    done = true;
  });
  EXPECT_TRUE(run_until(
      loop, [&] { return done.load(); }, std::chrono::seconds(20)));
  client.join();
  EXPECT_EQ(reply.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << reply;
}

TEST_F(MetricsListenerTest, AClientThatHangsUpEarlyIsForgotten) {
  EXPECT_EQ(run("GET /met", 0, true), "");  // the client's half-close ends it; no answer, no crash
  // The listener still serves.
  EXPECT_EQ(run("GET /metrics HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 200 ", 0), 0u);
}

TEST_F(MetricsListenerTest, CloseStopsAcceptingAndTheLoopEnds) {
  listener_->close();
  loop_.run();  // nothing referenced is left: returns
  EXPECT_EQ(exchange(port_, "GET /metrics HTTP/1.1\r\n\r\n"), "");
}

TEST(MetricsPort, ParsesPortsAndRejectsTheRest) {
  EXPECT_EQ(parse_metrics_port("9209", "--metrics-port").value(), 9209);
  EXPECT_EQ(parse_metrics_port("0", "--metrics-port").value(), 0);
  EXPECT_EQ(parse_metrics_port("65535", "--metrics-port").value(), 65535);
  for (const char* bad : {"", "65536", "-1", "12ab", " 80", "0x50", "99999999999"}) {
    auto r = parse_metrics_port(bad, "HERD_METRICS_PORT");
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code(), EINVAL);
    EXPECT_NE(r.error().context().find("HERD_METRICS_PORT takes a port number 0..65535"),
              std::string::npos)
        << r.error().context();
  }
}

TEST(MetricsAddr, ParsesAddressesAndRejectsTheRest) {
  struct Case {
    const char* text;
    const char* want;
  } good[] = {{"127.0.0.1", "127.0.0.1"},
              {"0.0.0.0", "0.0.0.0"},
              {"10.1.2.3", "10.1.2.3"},
              {"::", "::"},
              {"[::]", "::"},
              {"::1", "::1"},
              {"[fd00::5]", "fd00::5"},
              {"localhost", "127.0.0.1"}};
  for (const Case& c : good) EXPECT_EQ(parse_metrics_addr(c.text, "--metrics-addr"), c.want);
  for (const char* bad : {"", "example.com", "127.0.0.1:9209", "256.1.1.1", "[::", "::g",
                          " 127.0.0.1", "[]", "unix:/tmp/x"}) {
    auto r = parse_metrics_addr(bad, "HERD_METRICS_ADDR");
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code(), EINVAL);
    EXPECT_EQ(r.error().context(), std::string("HERD_METRICS_ADDR takes an IP address such as "
                                               "127.0.0.1, 0.0.0.0, ::1 or ::, not '") +
                                       bad + "'");
  }
}

}  // namespace
}  // namespace herd::manager
