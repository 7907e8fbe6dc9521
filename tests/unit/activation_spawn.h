// The spawner the socket-activation and sd_notify tests share: this binary in a role, with
// descriptors placed at 3, 4, ... and, if asked, LISTEN_PID set to the child's own pid (both are
// the point there), stdout and stderr captured.
#pragma once

#include <fcntl.h>

#include <chrono>
#include <string>
#include <vector>

#include "support/child_process.h"
#include "support/temp_dir.h"
#include "support/wait.h"

namespace herd {
namespace {

enum class ListenPid { kNone, kChild };

using Outcome = test::RunResult;

// Runs this binary as `role` with `args`, the current environment minus LISTEN_*, NOTIFY_SOCKET
// and HERD_LOG_LEVEL plus `env`, and `fds[i]` at descriptor 3 + i (inheritable). With
// ListenPid::kChild, LISTEN_PID is set to the child's pid between fork and exec.
inline Outcome spawn_activated(const std::string& role, const std::vector<std::string>& env,
                               const std::vector<int>& fds, ListenPid listen_pid,
                               const std::vector<std::string>& args = {},
                               std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  test::ChildSpec spec = test::self_spec(role, args);
  spec.env_remove = {"LISTEN_", "NOTIFY_SOCKET=", "HERD_LOG_LEVEL="};
  spec.env.insert(spec.env.end(), env.begin(), env.end());
  spec.fds = fds;
  spec.listen_pid = listen_pid == ListenPid::kChild;
  return test::run(spec, timeout);
}

inline bool cloexec(int fd) { return (::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0; }

using test::TempDir;

}  // namespace
}  // namespace herd
