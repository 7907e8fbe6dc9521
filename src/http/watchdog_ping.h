// WatchdogPing: a libherd server's side of the systemd watchdog (herd's `watchdog` setting, or
// systemd's WatchdogSec). When sd_watchdog_enabled() says this process is watched, start() sends
// WATCHDOG=1 at once and then every half interval from the loop's timers phase, so that a loop
// that is stuck (a deadlock, a handler spinning at 100 % CPU) stops the pings and the manager
// restarts the process. Not watched: start() does nothing.
//
// The timer is unref'd: a server whose loop has nothing else to do still ends; the pings never
// keep a loop alive. stop() (or destruction) ends them.
//
// Threads: the loop's thread only.
#pragma once

#include <cstdint>

#include "herd/loop/event_loop.h"
#include "herd/loop/timer.h"

namespace herd::http::detail {

class WatchdogPing {
 public:
  explicit WatchdogPing(EventLoop& loop);
  ~WatchdogPing();
  WatchdogPing(const WatchdogPing&) = delete;
  WatchdogPing& operator=(const WatchdogPing&) = delete;

  // Idempotent: a second call while pinging changes nothing.
  void start();
  void stop();
  bool active() const { return active_; }
  // The ping period: half the watchdog interval, at least 1 ms (0 when not active).
  std::uint64_t period_ms() const { return period_ms_; }

 private:
  void ping();

  Timer timer_;
  std::uint64_t period_ms_ = 0;
  bool active_ = false;
  bool warned_ = false;
};

}  // namespace herd::http::detail
