#include "daemon/watchdog.h"

#include <fmt/format.h>

#include <charconv>

#include "daemon/notify_socket.h"

namespace herd::manager {

Watchdog::Watchdog(EventLoop& loop) : loop_(loop), timer_(loop) { timer_.unref(); }

Watchdog::~Watchdog() { timer_.stop(); }

void Watchdog::start(std::uint64_t interval_ms, Expired expired) {
  expired_ = std::move(expired);
  interval_ms_ = interval_ms;
  pings_ = 0;
  armed_ = interval_ms > 0;
  if (!armed_) {
    timer_.stop();
    return;
  }
  arm();
}

void Watchdog::arm() {
  timer_.start(
      [this] {
        fire(
            fmt::format("watchdog timeout: no WATCHDOG=1 for {}", describe_interval(interval_ms_)));
      },
      interval_ms_);
}

void Watchdog::stop() {
  armed_ = false;
  timer_.stop();
}

void Watchdog::on_notify(std::string_view payload) {
  if (!armed_) return;
  std::string_view v;
  if (find_notify_field(payload, "WATCHDOG_USEC", &v)) {
    std::uint64_t usec = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), usec);
    if (ec == std::errc() && end == v.data() + v.size()) {
      if (usec == 0) {
        stop();
        return;
      }
      // Rounded up: a 1500 us interval is not 1 ms.
      interval_ms_ = (usec + 999) / 1000;
      arm();
    }
  }
  if (find_notify_field(payload, "WATCHDOG", &v)) {
    if (v == "1") {
      ++pings_;
      arm();
    } else if (v == "trigger") {
      fire("watchdog triggered: the app sent WATCHDOG=trigger");
    }
  }
}

void Watchdog::fire(std::string reason) {
  if (!armed_) return;
  stop();
  if (expired_) expired_(std::move(reason));
}

std::string describe_interval(std::uint64_t ms) {
  if (ms % 60'000 == 0) return fmt::format("{}m", ms / 60'000);
  if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  if (ms > 1000) return fmt::format("{:.1f}s", static_cast<double>(ms) / 1000.0);
  return fmt::format("{}ms", ms);
}

}  // namespace herd::manager
