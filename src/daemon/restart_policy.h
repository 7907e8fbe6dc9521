// What to do when an instance exits: PM2's restart semantics, as a pure function.
//
//   - a stop herd asked for, autorestart off, or an exit code in stop_exit_codes: stay stopped;
//   - a run shorter than min_uptime is unstable; more than max_restarts unstable restarts in a
//     row: errored (no more restarts);
//   - the delay is restart_delay, or with exp_backoff_restart_delay the backoff (first delay,
//     then x1.5 each time, capped at 15 s, back to the first after 30 s of uptime);
//   - an unstable run never restarts sooner than 100 ms, even with no delay configured; past 16
//     unstable restarts in a row (when max_restarts allows more) that floor grows x1.5 per try
//     up to 15 s. A crash loop cannot spin a CPU, however large max_restarts is.
#pragma once

#include <cstdint>
#include <string>

#include "app/app_spec.h"

namespace herd::manager {

struct RestartState {
  int unstable_restarts = 0;  // consecutive short runs
  std::uint64_t last_backoff_ms = 0;
};

struct RestartDecision {
  enum class Kind { kStop, kRestart, kErrored } kind = Kind::kStop;
  std::uint64_t delay_ms = 0;
  std::string reason;  // for the daemon's log and `describe`
};

inline constexpr std::uint64_t kMaxBackoffMs = 15'000;
inline constexpr std::uint64_t kBackoffResetUptimeMs = 30'000;
inline constexpr std::uint64_t kUnstableFloorMs = 100;
inline constexpr int kFastUnstableRestarts = 16;

// `exit_code` is -1 when the process was killed by `term_signal`.
RestartDecision decide_restart(const AppSpec& spec, RestartState& state, std::uint64_t uptime_ms,
                               int exit_code, int term_signal, bool stop_requested);

}  // namespace herd::manager
