// `herd update`: the running daemon replaced by the herd binary on disk without restarting any
// app. The daemon writes its whole state (takeover_state of the Supervisor: every app, its
// sockets, every instance with its pid, counters, log pipes, IPC and bind channels) to a memfd,
// keeps those descriptors and the control socket open across exec (clears FD_CLOEXEC), and
// execs `<binary> daemon --takeover <memfd>` in the same process: same pid, so the apps keep
// their parent (PR_SET_PDEATHSIG is tied to the thread that forked them, the loop thread, which
// is the one that execs), the keeper keeps its child, and connections wait in the kernel's
// queues meanwhile. The new daemon adopts it all and answers the `update` request.
//
// Before that, the binary is checked (`<binary> version` must print "herd <version>" within
// 5 s), so a file that is not herd leaves the old daemon running and says why. If the new
// daemon cannot adopt the state, it execs the old binary (kept open as a descriptor) with the
// same state; if even that fails, it exits and the keeper starts a fresh daemon, which restores
// the apps from running.json.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "herd/base/error.h"

namespace herd::manager {

// The version of the state format; a daemon refuses a state of another version.
inline constexpr int kTakeoverVersion = 1;

// Runs `binary version` and returns the version it prints; an error saying why it is not a
// herd binary otherwise.
Result<std::string> probe_herd_binary(const std::string& binary);

// Writes `state` to a memfd, clears FD_CLOEXEC on `keep` (and the memfd), and execs
// `binary daemon --takeover <memfd>` (`extra_args` after). Returns only when exec failed: the
// flags are restored and the memfd closed.
Error exec_takeover(const std::string& binary, const nlohmann::json& state,
                    const std::vector<int>& keep, const std::vector<std::string>& extra_args);
// Execs the program open at `exe_fd` the same way (the fallback to the old binary).
Error exec_takeover_fd(int exe_fd, int state_fd, const std::vector<std::string>& extra_args);

// In the new daemon: the state behind `fd` (closed afterwards).
Result<nlohmann::json> read_takeover_state(int fd);

}  // namespace herd::manager
