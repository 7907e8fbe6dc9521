#include "http/metrics.h"

#include <fmt/format.h>

#include <iterator>

namespace herd::http::detail {

std::string format_metrics(const ServerMetrics& m) {
  fmt::memory_buffer out;
  auto it = std::back_inserter(out);
  fmt::format_to(it,
                 "# HELP herd_http_requests_total HTTP responses sent, by status class.\n"
                 "# TYPE herd_http_requests_total counter\n");
  for (int cls = 1; cls <= 5; ++cls) {
    fmt::format_to(it, "herd_http_requests_total{{code=\"{}xx\"}} {}\n", cls,
                   m.requests_by_class[cls]);
  }
  fmt::format_to(it,
                 "# HELP herd_http_active_connections Open HTTP connections.\n"
                 "# TYPE herd_http_active_connections gauge\n"
                 "herd_http_active_connections {}\n"
                 "# HELP herd_http_connections_total HTTP connections accepted.\n"
                 "# TYPE herd_http_connections_total counter\n"
                 "herd_http_connections_total {}\n"
                 "# HELP herd_http_received_bytes_total Bytes received on HTTP connections.\n"
                 "# TYPE herd_http_received_bytes_total counter\n"
                 "herd_http_received_bytes_total {}\n"
                 "# HELP herd_http_sent_bytes_total Bytes queued for sending on HTTP "
                 "connections.\n"
                 "# TYPE herd_http_sent_bytes_total counter\n"
                 "herd_http_sent_bytes_total {}\n"
                 "# HELP herd_event_loop_lag_seconds How late the event loop ran a timer (last "
                 "sample).\n"
                 "# TYPE herd_event_loop_lag_seconds gauge\n"
                 "herd_event_loop_lag_seconds {:.6f}\n",
                 m.active_connections, m.total_connections, m.bytes_in, m.bytes_out,
                 m.loop_lag_seconds);
  return fmt::to_string(out);
}

LoopLagProbe::LoopLagProbe(EventLoop& loop, double* lag_seconds)
    : timer_(loop), lag_seconds_(lag_seconds) {
  timer_.unref();
}

void LoopLagProbe::start() {
  expected_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(kIntervalMs);
  timer_.start([this] { on_tick(); }, kIntervalMs);
}

void LoopLagProbe::stop() { timer_.stop(); }

void LoopLagProbe::on_tick() {
  auto now = std::chrono::steady_clock::now();
  // The loop's clock has millisecond steps: lateness under a millisecond is noise, not lag.
  std::chrono::duration<double> late = now - expected_;
  *lag_seconds_ = late.count() > 0.001 ? late.count() : 0.0;
  expected_ = now + std::chrono::milliseconds(kIntervalMs);
  timer_.start([this] { on_tick(); }, kIntervalMs);
}

}  // namespace herd::http::detail
