// spawn(): starts one managed process, the way a supervisor must.
//
// In the child, before exec: its own process group; PR_SET_PDEATHSIG(SIGKILL) so it dies with
// the daemon (checked after fork: if the daemon is already gone, the child exits at once);
// signal mask and dispositions reset (the daemon blocks signals for signalfd, and a blocked
// mask survives exec); stdin from /dev/null, stdout/stderr to the given pipes; the inherited
// sockets at 3, 4, ... (LISTEN_FDS) with LISTEN_PID set to the child's own pid; every other
// descriptor closed by CLOEXEC; herd's bind channel after them (HERD_BIND_FD, HERD_BIND_PID). An
// exec failure is reported back through a CLOEXEC pipe, so spawn() returns "exec ./server: No such
// file or directory" instead of a child that exits 127. With switch_identity, the child takes the
// given uid, gid and supplementary groups before it changes directory, so that both the working
// directory and the program are reached with the app's own rights. With cgroup_procs_fds, the
// child writes its pid into each (a cgroup's cgroup.procs) first of all, so that it and
// everything it starts are in the instance's cgroup before any code of the app runs.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "herd/base/error.h"

namespace herd::manager {

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH when it has no '/'
  std::string cwd;                // "" = the daemon's
  std::vector<std::string> env;   // "KEY=value"; LISTEN_* and NODE_CHANNEL_FD are added here
  int stdout_fd = -1;             // write ends; -1 = /dev/null
  int stderr_fd = -1;
  std::vector<int> listen_fds;  // become 3, 4, ... with LISTEN_FDS/LISTEN_PID/NAMES
  std::vector<std::string> listen_names;
  int ipc_fd = -1;  // a Node IPC channel end: placed after the listen fds
  // herd's bind channel end (src/inject/bind_protocol.h): placed after those, with
  // HERD_BIND_FD=<its number> and HERD_BIND_PID=<the child's pid>.
  int bind_fd = -1;
  // herd's accept counter (AcceptCounter): placed after those, with HERD_ACCEPT_FD=<its number>.
  int accept_fd = -1;
  // systemd's WATCHDOG_PID: set to the child's own pid (with WATCHDOG_USEC in `env`).
  bool watchdog_pid = false;
  bool die_with_parent = true;
  // Run as another account (a root daemon only): setgroups(groups), setgid(gid), setuid(uid) in
  // the child, in that order, before chdir and exec.
  bool switch_identity = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  // cgroup.procs files opened for writing (CLOEXEC), by the caller, which keeps them open
  // until spawn() returns (cgroup/cgroup_backend.h).
  std::vector<int> cgroup_procs_fds;
};

// Forks and execs. Returns the child's pid (its process group id too) once exec succeeded.
Result<pid_t> spawn(const SpawnOptions& options);

}  // namespace herd::manager
