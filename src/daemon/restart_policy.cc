#include "daemon/restart_policy.h"

#include <fmt/format.h>
#include <string.h>

#include <algorithm>

namespace herd::manager {
namespace {

std::string describe_exit(int exit_code, int term_signal) {
  if (exit_code >= 0) return fmt::format("exited with code {}", exit_code);
  const char* name = sigabbrev_np(term_signal);
  return name != nullptr ? fmt::format("killed by SIG{}", name)
                         : fmt::format("killed by signal {}", term_signal);
}

}  // namespace

RestartDecision decide_restart(const AppSpec& spec, RestartState& state, std::uint64_t uptime_ms,
                               int exit_code, int term_signal, bool stop_requested) {
  RestartDecision d;
  std::string how = describe_exit(exit_code, term_signal);
  if (stop_requested) {
    d.reason = how + " (stopped by herd)";
    return d;
  }
  if (!spec.autorestart) {
    d.reason = how + "; autorestart is off";
    return d;
  }
  if (exit_code >= 0 && std::find(spec.stop_exit_codes.begin(), spec.stop_exit_codes.end(),
                                  exit_code) != spec.stop_exit_codes.end()) {
    d.reason = how + ", one of stop_exit_codes";
    return d;
  }

  bool unstable = uptime_ms < spec.min_uptime_ms;
  if (unstable) {
    ++state.unstable_restarts;
    if (state.unstable_restarts > spec.max_restarts) {
      d.kind = RestartDecision::Kind::kErrored;
      d.reason = fmt::format("{} after {} ms, {} unstable restarts (max_restarts {})", how,
                             uptime_ms, state.unstable_restarts - 1, spec.max_restarts);
      return d;
    }
  } else {
    state.unstable_restarts = 0;
  }

  std::uint64_t delay = spec.restart_delay_ms;
  if (spec.exp_backoff_restart_delay_ms > 0) {
    if (uptime_ms >= kBackoffResetUptimeMs || state.last_backoff_ms == 0) {
      state.last_backoff_ms = spec.exp_backoff_restart_delay_ms;
    } else {
      state.last_backoff_ms = std::min<std::uint64_t>(state.last_backoff_ms * 3 / 2, kMaxBackoffMs);
    }
    delay = std::max(delay, state.last_backoff_ms);
  }
  if (unstable) {
    // The crash-loop floor: 100 ms for PM2's usual 16 tries (errored after ~2 s, as users
    // expect), then x1.5 per try up to 15 s when max_restarts allows many more.
    std::uint64_t floor = kUnstableFloorMs;
    for (int i = kFastUnstableRestarts; i < state.unstable_restarts && floor < kMaxBackoffMs; ++i) {
      floor = floor * 3 / 2;
    }
    delay = std::max(delay, std::min(floor, kMaxBackoffMs));
  }
  d.kind = RestartDecision::Kind::kRestart;
  d.delay_ms = delay;
  d.reason = fmt::format("{} after {} ms; restarting in {} ms", how, uptime_ms, delay);
  return d;
}

}  // namespace herd::manager
