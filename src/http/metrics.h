// The server's metrics: Prometheus text, and the event-loop lag probe.
//
// Threads: the server's loop thread only.
#pragma once

#include <chrono>
#include <string>

#include "herd/http/server.h"
#include "herd/loop/timer.h"

namespace herd::http::detail {

// `metrics` in the Prometheus text exposition format (version 0.0.4): a # HELP and a # TYPE line
// for every family, requests by status class as herd_http_requests_total{code="2xx"}.
std::string format_metrics(const ServerMetrics& metrics);

// Measures how late the loop runs a timer: every kIntervalMs it stores, in *lag_seconds, how much
// later than asked for the previous tick ran (what the loop spent elsewhere: a busy loop, a
// blocking callback). Unreferenced: it never keeps the loop alive.
class LoopLagProbe {
 public:
  static constexpr std::uint64_t kIntervalMs = 500;

  LoopLagProbe(EventLoop& loop, double* lag_seconds);
  void start();
  void stop();

 private:
  void on_tick();

  Timer timer_;
  double* lag_seconds_;
  std::chrono::steady_clock::time_point expected_;
};

}  // namespace herd::http::detail
