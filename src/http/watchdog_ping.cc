#include "http/watchdog_ping.h"

#include <algorithm>

#include "herd/base/log.h"
#include "herd/net/socket_activation.h"

namespace herd::http::detail {

WatchdogPing::WatchdogPing(EventLoop& loop) : timer_(loop) { timer_.unref(); }

WatchdogPing::~WatchdogPing() { timer_.stop(); }

void WatchdogPing::start() {
  if (active_) return;
  std::optional<std::uint64_t> usec = sd_watchdog_enabled();
  if (!usec) return;
  // Half the interval, as systemd recommends: one late ping still leaves time for the next.
  period_ms_ = std::max<std::uint64_t>(1, *usec / 2000);
  active_ = true;
  ping();
  timer_.start([this] { ping(); }, period_ms_, period_ms_);
}

void WatchdogPing::stop() {
  active_ = false;
  period_ms_ = 0;
  timer_.stop();
}

void WatchdogPing::ping() {
  if (Status s = sd_notify("WATCHDOG=1"); !s && !warned_) {
    // Once: a manager that went away must not fill the log twice a second.
    warned_ = true;
    log_warn("http: sd_notify WATCHDOG=1: {}", s.error().message());
  }
}

}  // namespace herd::http::detail
