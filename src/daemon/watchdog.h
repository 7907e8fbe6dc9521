// Watchdog: one instance's systemd-style watchdog (WatchdogSec, sd_notify WATCHDOG=1).
//
// start() arms it when the instance's process is spawned (systemd arms it from start-up too, so
// a program that never pings is caught even before it is ready). Each notify payload from the
// instance's process (or its descendants) goes to on_notify():
//
//   WATCHDOG=1          re-arms the timer for another interval
//   WATCHDOG=trigger    expires it at once ("the app asked for it")
//   WATCHDOG_USEC=<n>   makes <n> microseconds the interval of this process and re-arms it; 0
//                       turns the watchdog off until the next start (systemd's rule)
//
// When the timer runs out, `expired` runs (from the timer's callback) with the reason, e.g.
// "watchdog timeout: no WATCHDOG=1 for 10s". It runs at most once per start().
//
// The timer is unref'd: it never keeps the daemon's loop alive by itself.
// Threads: the daemon's loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "herd/loop/timer.h"

namespace herd::manager {

class Watchdog {
 public:
  using Expired = std::function<void(std::string reason)>;

  explicit Watchdog(EventLoop& loop);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // Arms it for `interval_ms` (> 0) from now; `expired` replaces an earlier callback.
  void start(std::uint64_t interval_ms, Expired expired);
  // Disarms it (the process exited or is being stopped). A no-op when it is not armed.
  void stop();
  // A payload from the instance's notify socket; lines other than WATCHDOG= and WATCHDOG_USEC=
  // are ignored, and so is everything while it is not armed.
  void on_notify(std::string_view payload);

  bool armed() const { return armed_; }
  std::uint64_t interval_ms() const { return interval_ms_; }
  // The pings received since start().
  std::uint64_t pings() const { return pings_; }

 private:
  void arm();
  void fire(std::string reason);

  EventLoop& loop_;
  Timer timer_;
  Expired expired_;
  std::uint64_t interval_ms_ = 0;
  std::uint64_t pings_ = 0;
  bool armed_ = false;
};

// "10s", "1.5s", "250ms", "2m": how the reason names an interval.
std::string describe_interval(std::uint64_t ms);

}  // namespace herd::manager
