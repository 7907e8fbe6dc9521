// HerdReport: what a libherd server tells herd on the notify socket, and how often.
#include "http/herd_report.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "herd/base/fd.h"
#include "herd/loop/event_loop.h"
#include "herd/loop/io_watcher.h"
#include "herd/loop/timer.h"
#include "support/temp_dir.h"

namespace herd::http::detail {
namespace {

constexpr std::uint64_t kIntervalMs = 20;

// A datagram socket bound at `path`, non-blocking.
Fd bound_socket(const std::string& path) {
  Fd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  path.copy(a.sun_path, sizeof(a.sun_path) - 1);
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  return fd;
}

// The notify socket the report writes to, read on the same loop: each datagram with the loop's
// time it arrived.
struct Receiver {
  Receiver(EventLoop& loop, const std::string& path)
      : fd(bound_socket(path)), watcher(loop, fd.get()) {
    watcher.set_callback([this, &loop](std::uint32_t) {
      char buf[4096];
      ssize_t n;
      while ((n = ::recv(fd.get(), buf, sizeof buf, 0)) > 0) {
        got.emplace_back(loop.now(), std::string(buf, static_cast<std::size_t>(n)));
      }
    });
    EXPECT_TRUE(watcher.start(kReadable).has_value());
  }
  Fd fd;
  IoWatcher watcher;
  std::vector<std::pair<std::uint64_t, std::string>> got;
};

// An idle server reports once, then only every 10th interval; a request is reported at the next
// interval, and the interval after it (latency gone) too, before the server goes quiet again.
TEST(HerdReport, AnIdleServerReportsEveryTenthIntervalAndActivityAtOnce) {
  test::TempDir dir("report");
  std::string path = dir.path() + "/notify";
  ::setenv("HERD_CODE_METRICS", std::to_string(kIntervalMs).c_str(), 1);
  ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  EventLoop loop;
  Receiver rx(loop, path);
  ServerMetrics metrics;
  HerdReport report(loop, metrics);
  report.start();
  ASSERT_TRUE(report.active());
  auto run_until = [&](std::size_t reports) {
    std::uint64_t deadline = loop.now() + 20000;
    Timer poll(loop);
    poll.start(
        [&] {
          if (rx.got.size() >= reports || loop.now() > deadline) loop.stop();
        },
        5, 5);
    loop.run();
    return rx.got.size() >= reports;
  };
  ASSERT_TRUE(run_until(2));
  // The first report at once (one interval), the second no sooner than ten intervals later.
  EXPECT_GE(rx.got[1].first - rx.got[0].first, 9 * kIntervalMs);
  EXPECT_NE(rx.got[1].second.find("\"http_requests_total\":0"), std::string::npos);
  // A request: reported at the next interval, with its latency.
  ++metrics.requests_by_class[2];
  report.record(1'000'000);
  std::size_t before = rx.got.size();
  ASSERT_TRUE(run_until(before + 2));
  EXPECT_NE(rx.got[before].second.find("\"http_requests_total\":1"), std::string::npos);
  EXPECT_NE(rx.got[before].second.find("http_latency_p99_ms"), std::string::npos);
  // The next one says the latency is gone (it is not held back as an idle repeat would be).
  EXPECT_EQ(rx.got[before + 1].second.find("http_latency"), std::string::npos);
  EXPECT_NE(rx.got[before + 1].second.find("\"http_requests_total\":1"), std::string::npos);
  ::unsetenv("HERD_CODE_METRICS");
  ::unsetenv("NOTIFY_SOCKET");
}

}  // namespace
}  // namespace herd::http::detail
