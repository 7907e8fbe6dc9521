// HomeWatch: notices that a daemon's home ($HERD_HOME) went away under it, so that a daemon
// whose home was removed (`rm -rf` of a temporary directory) does not run on forever with its
// apps, unreachable (its control socket is gone) and holding a lock nobody can see.
//
// "Went away" is any of:
//   - the directory was removed, or moved elsewhere, or the path now names another directory
//     (its device and inode differ from those the daemon started with);
//   - its lock file, herd.lock, was removed or replaced: the lock no longer keeps a second
//     daemon out of the home (the first file `rm -rf` removes is often that one).
//
// How: an inotify watch on the directory (IN_DELETE_SELF, IN_MOVE_SELF, and the lock file's
// removal, rename or creation), read on the loop, which wakes the daemon at once; and a look
// every kPollMs (stat of both against what they were at start) for what inotify does not
// report: a network file system, or no inotify instance to be had
// (fs.inotify.max_user_instances). Either way an event is only a hint: the stat decides.
//
// Threads: the loop's thread only. The callback runs once, on the loop; it must not destroy
// the HomeWatch (stop() it, or let its owner go after the loop ends).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "daemon/home.h"
#include "herd/base/error.h"
#include "herd/base/fd.h"
#include "herd/loop/event_loop.h"
#include "herd/loop/io_watcher.h"
#include "herd/loop/timer.h"

namespace herd::manager {

// Which directory and lock file a home was when a process took it: device and inode.
struct HomeIdentity {
  dev_t dir_dev = 0;
  ino_t dir_ino = 0;
  // The lock file's, when it existed (a daemon made by start_daemon_on takes no lock).
  std::optional<std::pair<dev_t, ino_t>> lock;

  // The identity of `home` now; fails when its directory cannot be stat'ed.
  static Result<HomeIdentity> of(const Home& home);
  // "" while `home` is still this; else a sentence saying what happened ("/x was removed").
  std::string change(const Home& home) const;
};

class HomeWatch {
 public:
  using GoneCallback = std::function<void(const std::string& why)>;

  // How often the home is stat'ed besides inotify.
  static constexpr std::uint64_t kPollMs = 2000;

  HomeWatch(EventLoop& loop, Home home);
  ~HomeWatch();
  HomeWatch(const HomeWatch&) = delete;
  HomeWatch& operator=(const HomeWatch&) = delete;

  // Takes the home's identity now and watches it; `gone` runs once when it changes. Fails only
  // when the home cannot be stat'ed at all; without inotify it polls alone (said in the log).
  // Neither the watch nor the timer keeps the loop running.
  Status start(GoneCallback gone);
  // Stops watching; the callback will not run. Safe to call twice.
  void stop();

 private:
  void on_readable();
  // Stats the home; runs the callback (once) when it changed.
  void check();

  EventLoop& loop_;
  Home home_;
  HomeIdentity id_;
  GoneCallback gone_;
  Fd inotify_;
  std::unique_ptr<IoWatcher> watcher_;
  Timer poll_;
  bool fired_ = false;
};

}  // namespace herd::manager
