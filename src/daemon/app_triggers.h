// AppTriggers: what restarts an app besides its own exits: its `cron_restart` schedule and its
// file watch (`watch`, `ignore_watch`, `watch_delay`). Both go through
// Supervisor::restart_app_for(), with a reason that lands in the daemon's log.
//
// Cron: the next fire time is computed from the wall clock (cron.h) and a loop timer is armed for
// it, at most a minute at a time, so that a wall-clock step (NTP, suspend) delays a restart by a
// minute at worst. After a fire, the next one is computed from the later of the fire time and
// now, so a daemon that was stopped (SIGSTOP) does not catch up on missed fires.
//
// Watch: a change arms a debounce timer of watch_delay; each further change re-arms it, so the
// app restarts once the tree has been quiet for watch_delay, but no later than
// kMaxDebounceFactor x watch_delay (at least 1 s) after the first change, so that a file written
// continuously cannot postpone the restart forever. The app's own log files and the files herd
// writes in HERD_HOME (logs/, pids/, herd.*, dump.json) never count as changes.
//
// Neither trigger restarts an app whose instances are all stopped (`herd stop`): they resume when
// it is started again.
//
// Threads: the daemon's loop thread only.
#pragma once

#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "app/cron.h"
#include "daemon/file_watch.h"
#include "herd/loop/timer.h"

namespace herd::manager {

class App;
struct Home;

class AppTriggers {
 public:
  static constexpr std::uint64_t kMaxDebounceFactor = 10;

  // What a trigger does when it fires: restart every instance of the app named `app`, logging
  // `reason` (Supervisor::restart_app_for).
  using Restart = std::function<void(const std::string& app, std::string reason)>;

  AppTriggers(EventLoop& loop, const Home& home, App& app, Restart restart);
  ~AppTriggers();
  AppTriggers(const AppTriggers&) = delete;
  AppTriggers& operator=(const AppTriggers&) = delete;

  // (Re)reads the app's spec: arms the cron timer, (re)starts the file watch. A problem (a cron
  // that never fires, a watch that cannot start) is logged and returned; the other trigger is
  // armed anyway.
  Status arm();

  // The next cron restart (seconds since the epoch), when one is scheduled.
  std::optional<std::time_t> next_cron_restart() const { return next_cron_; }
  // Adds the triggers' state to an instance's pm2_env for `describe`: next_cron_restart (ms
  // since the epoch, or null) when there is a cron_restart, and `watching` when watch is on.
  // The settings themselves (cron_restart, watch_delay) come from the settings table.
  void describe(nlohmann::json* pm2_env) const;

 private:
  Status arm_cron();
  Status arm_watch();
  void schedule_cron(std::time_t after);
  void arm_cron_timer();
  void on_cron_timer();
  void on_change(const std::string& what);
  void on_debounce();
  bool all_stopped() const;
  std::vector<std::string> watch_roots() const;

  EventLoop& loop_;
  const Home& home_;
  App& app_;
  Restart restart_;

  std::optional<CronSchedule> cron_;
  std::optional<std::time_t> next_cron_;
  Timer cron_timer_;

  std::unique_ptr<FileWatch> watch_;
  Timer debounce_;
  std::string first_change_;
  std::size_t changes_ = 0;
  std::uint64_t first_change_at_ = 0;  // loop time (ms)
};

}  // namespace herd::manager
