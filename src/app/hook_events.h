// The events an app's hooks (AppSpec::hooks) can name, shared by the settings parser and the
// daemon's hook runner (daemon/hooks.h). Pure data; any thread.
#pragma once

#include <array>
#include <string_view>

namespace herd::manager {

// In the order of daemon/hooks.h's HookEvent.
inline constexpr std::array<std::string_view, 5> kHookEventNames = {
    "crash",          // an instance's process exited without being asked to
    "errored",        // an instance went errored (too many unstable restarts, a failed start)
    "restart",        // herd restarts an instance (after a crash, a watchdog kill, `herd restart`)
    "reload_failed",  // a reload's replacement failed; the old instance was kept
    "health",         // an instance's health changed (health checks)
};

}  // namespace herd::manager
