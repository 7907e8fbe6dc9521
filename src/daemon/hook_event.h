// HookEvent and HookDetails: what happened to an instance, for its app's hooks (hooks.h).
// Plain data; any thread.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

#include "app/hook_events.h"

namespace herd::manager {

// In the order of kHookEventNames (app/hook_events.h), which names them in settings and in
// HERD_EVENT.
enum class HookEvent { kCrash, kErrored, kRestart, kReloadFailed, kHealth };

inline std::string_view hook_event_name(HookEvent e) {
  return kHookEventNames[static_cast<std::size_t>(e)];
}

struct HookDetails {
  pid_t pid = 0;                 // HERD_PID; 0 = the instance's pid at the time of the event
  std::optional<int> exit_code;  // HERD_EXIT_CODE, when the process exited
  int signal = 0;                // HERD_SIGNAL ("SIGKILL"), when it was killed by one
  std::string reason;            // HERD_REASON: a sentence for people
};

// Details that are only a reason (the pid is the instance's).
inline HookDetails hook_reason(std::string reason) {
  HookDetails d;
  d.reason = std::move(reason);
  return d;
}

}  // namespace herd::manager
