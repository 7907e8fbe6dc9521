// Home: the daemon's directory ($HERD_HOME, default ~/.herd) and the paths in it.
//
//   herd.sock    control socket (0600; the peer's uid is checked too)
//   notify.sock  sd_notify datagram socket for the apps
//   herd.log     the daemon's own log
//   herd.pid     the daemon's pid;  herd.lock  held (flock) by the running daemon
//   dump.json    saved process list (dump.json.bak: the one before)
//   logs/        <app>-out[-<id>].log, <app>-error[-<id>].log
//   pids/        <app>-<id>.pid
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "herd/base/error.h"

namespace herd::manager {

// Whether the directory `path` is a team home (Home::team_group).
std::optional<gid_t> team_group_of(const std::string& path);

struct Home {
  std::string dir;

  // $HERD_HOME, else $HOME/.herd, else the home of the effective uid in /etc/passwd + /.herd.
  static Result<Home> locate();
  // Creates dir, logs/ and pids/ with mode 0700. Refuses a dir owned by another user; takes
  // group and other permissions away from it (someone else could take over the control
  // socket), except from a team home (team_group()).
  Status prepare() const;
  // A team home: `dir` has the setgid bit, its group may read, write and enter it, and others
  // nothing (chown svc:team; chmod 2770). The members of that group may control its daemon
  // unless the daemon runs as root (docs/control-protocol.md). nullopt otherwise.
  std::optional<gid_t> team_group() const;

  std::string socket() const { return dir + "/herd.sock"; }
  std::string notify_socket() const { return dir + "/notify.sock"; }
  std::string log() const { return dir + "/herd.log"; }
  std::string pid_file() const { return dir + "/herd.pid"; }
  // The keeper's pid (keeper.h): the process that outlives daemon crashes, for init systems.
  std::string keeper_pid_file() const { return dir + "/keeper.pid"; }
  std::string lock_file() const { return dir + "/herd.lock"; }
  std::string dump() const { return dir + "/dump.json"; }
  // What runs, kept up to date by the daemon and removed at a clean stop: a daemon that finds it
  // when it starts restores it (Supervisor::restore_running).
  std::string running() const { return dir + "/running.json"; }
  std::string logs_dir() const { return dir + "/logs"; }
  std::string pids_dir() const { return dir + "/pids"; }
};

}  // namespace herd::manager
