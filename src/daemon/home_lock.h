// The home's lock, herd.lock: one daemon per HERD_HOME. The process that holds it (flock,
// exclusive) is the home's daemon: the keeper of `herd daemon` (keeper.h), or `herd runtime`
// (runtime.h), for as long as it lives; the kernel lets go of it when that process dies, however
// it dies.
//
// The CLI reads who holds it (lock_holder) before it starts a daemon, so that it never starts a
// second one that would queue for the lock of a home another process owns (a `herd runtime`
// starting or stopping, a keeper between two daemons).
//
// Threads: any; each call blocks only on the file system (lock_home: up to 3 s, see below).
#pragma once

#include <sys/types.h>

#include <expected>
#include <optional>
#include <string>

#include "daemon/home.h"
#include "herd/base/fd.h"

namespace herd::manager {

// Takes the home's lock, held by the returned descriptor for the process's life; waits up to 3 s
// for a keeper that is quitting or between two daemons, never for a `herd runtime` nor for a
// daemon that answers on the control socket. The error is a sentence ("another daemon already
// runs for /x (pid 4711 (herd daemon))").
std::expected<Fd, std::string> lock_home(const Home& home);

// The process holding a home's lock.
struct LockHolder {
  // Its pid as /proc/locks shows it; 0 when it is not to be seen there (another PID namespace).
  pid_t pid = 0;
  // Its command line, arguments joined by spaces (shortened), "" when unknown.
  std::string command;
  // What it is, from its command line: `herd daemon` (a keeper, or a daemon mid-update: a new
  // daemon follows by itself when one dies), `herd runtime`, or something else.
  enum class Kind { kDaemon, kRuntime, kOther } kind = Kind::kOther;

  // "pid 4711 (herd runtime app.json)", for messages.
  std::string describe() const;
};

// Who holds `home`'s lock now; nullopt when nobody does (or there is no lock file). Takes a
// shared lock for an instant to tell, never waits; the pid is read from /proc/locks.
std::optional<LockHolder> lock_holder(const Home& home);

}  // namespace herd::manager
