// HerdReport: a libherd server's code metrics for herd (docs/diagnostics.md, "libherd
// programs"). When the process runs under herd with reporting asked for (HERD_CODE_METRICS: the
// interval in milliseconds) and NOTIFY_SOCKET is set, start() arms an unref'd timer that sends,
// every interval, one notify datagram:
//
//   HERD_METRICS={"http_requests_total":N,"http_latency_mean_ms":..,"http_latency_p99_ms":..,
//                 "http_latency_max_ms":..,"interval_ms":..}
//
// Requests are the final answers counted in ServerMetrics; latency is from the moment the
// request was complete (the handler called) to the moment its response head was written, over
// the interval (no latency fields for an interval without requests). The p99 comes from log
// buckets (4 per power of two): within 19 % of the true value. An idle interval (no request,
// after a report without latency) is reported only every kIdleEvery intervals: the daemon's
// figures stay at most that many intervals old, and idle servers cost it no wake-up a second
// each. Not asked for: start() does nothing and record() is never called (the connection checks
// active()).
//
// Threads: the loop's thread only.
#pragma once

#include <array>
#include <cstdint>

#include "herd/http/server.h"
#include "herd/loop/event_loop.h"
#include "herd/loop/timer.h"

namespace herd::http::detail {

class HerdReport {
 public:
  HerdReport(EventLoop& loop, const ServerMetrics& metrics);
  ~HerdReport();
  HerdReport(const HerdReport&) = delete;
  HerdReport& operator=(const HerdReport&) = delete;

  // Idempotent.
  void start();
  bool active() const { return active_; }
  // One request's latency, in nanoseconds.
  void record(std::uint64_t latency_ns);
  // The steady clock in nanoseconds, for the start and end of a request.
  static std::uint64_t now_ns();

 private:
  static constexpr int kBuckets = 128;
  static constexpr int kIdleEvery = 10;
  void send();

  EventLoop& loop_;
  const ServerMetrics& metrics_;
  Timer timer_;
  bool active_ = false;
  bool warned_ = false;
  std::uint64_t interval_ms_ = 0;
  std::uint64_t last_send_ms_ = 0;
  std::uint64_t last_total_ = 0;  // the total of the last report sent
  bool last_had_latency_ = false;
  bool sent_any_ = false;
  int idle_skipped_ = 0;  // idle intervals not reported since the last report
  std::uint64_t count_ = 0;
  std::uint64_t sum_ns_ = 0;
  std::uint64_t max_ns_ = 0;
  std::array<std::uint32_t, kBuckets> buckets_{};
};

}  // namespace herd::http::detail
