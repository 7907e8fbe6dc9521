// The keeper: the small parent process of the herd daemon, so that no app outlives a daemon that
// dies, and a daemon that dies comes back by itself.
//
//   herd daemon ── keeper (holds the home's lock; child subreaper; waits)
//                    └── daemon (the event loop, the control socket, the apps' parent)
//                          └── apps (PR_SET_PDEATHSIG: they die with the daemon)
//
// The keeper is a child subreaper: when the daemon dies, whatever the apps left behind (a shell
// wrapper's program, a pipeline's other commands, a daemonized grandchild; the daemon adopted
// those while it lived, being a subreaper itself) is re-parented to the keeper, which kills every
// such process and reaps it. Then, if the daemon died uncleanly (a signal, or a non-zero exit
// after it started serving), the keeper starts a new daemon, which restores what was running
// (Supervisor's running set). A daemon that keeps dying (5 times within 60 s) is not restarted
// again. A daemon that cannot start at all (a bad option, an unusable home) ends the keeper
// with its exit code; a clean stop (`herd kill`, SIGTERM) ends it with 0.
//
// SIGTERM, SIGINT and SIGHUP sent to the keeper are passed on to the daemon (a graceful stop of
// every app), as systemd or a person stopping the process tree would expect.
//
// A home that went away (home_watch.h: removed, moved, replaced): the daemon notices it, stops
// every app and exits cleanly, which ends the keeper; and a daemon that dies once its home is
// gone is not started again (there is nothing to restore, and nobody could reach it).
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

namespace herd::manager {

struct DaemonStart {
  // This daemon replaces one that died (its pid); 0 for the first.
  pid_t previous = 0;
  // Write one byte here once serving (then a later death is a crash, restarted); -1 if none.
  int ready_fd = -1;
};

// Runs the keeper in this process: forks the daemon, which runs `daemon(start)` and exits with
// its return value. `log_path` is where the keeper appends its own lines (herd.log), or "" for
// stderr; `pid_path` gets the keeper's pid while it runs (a systemd unit's PIDFile: the process
// that lives across daemon crashes). `home_gone` says why the home went away, "" while it is
// there (HomeIdentity::change). Returns the keeper's exit code. Call it single-threaded.
int run_keeper(const std::string& log_path, const std::string& pid_path,
               const std::function<std::string()>& home_gone,
               const std::function<int(const DaemonStart&)>& daemon);

}  // namespace herd::manager
