// Supervisor: every app the daemon runs, and the verbs that act on them.
//
// Verbs take targets the way PM2 does: "all", an id, a name, a /regex/ on names, several at
// once. An unknown target is an error that names it (code E_UNKNOWN_TARGET). Verbs that wait
// for processes (start, stop, restart, delete, scale, kill) answer through a callback once the
// processes have settled; the rest answer at once.
//
// Threads: the daemon's loop thread only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "herd/event_loop.h"
#include "herd/signal.h"
#include "herd/timer.h"
#include "manager/app_spec.h"
#include "manager/app_triggers.h"
#include "manager/home.h"
#include "manager/instance.h"
#include "manager/listen_set.h"
#include "manager/notify_socket.h"
#include "manager/rotating_file.h"

namespace herd::manager {

// A failed verb: a stable code for scripts and a message for people.
struct VerbError {
  std::string code;  // E_UNKNOWN_TARGET, E_APP_EXISTS, E_SPAWN, E_BAD_REQUEST, ...
  std::string message;
};
using VerbResult = std::expected<nlohmann::json, VerbError>;
using Reply = std::function<void(VerbResult)>;

class App {
 public:
  App(std::string name, AppSpec spec) : name(std::move(name)), spec(std::move(spec)) {}
  std::string name;
  AppSpec spec;
  ListenSet sockets;  // cluster mode: bound once, held for the app's life
  std::vector<std::unique_ptr<Instance>> instances;
  std::unique_ptr<AppTriggers> triggers;  // cron_restart and watch; set by Supervisor::start
  bool cluster() const { return !sockets.empty(); }
};

class Supervisor {
 public:
  Supervisor(EventLoop& loop, Home home);
  ~Supervisor();

  // Binds the notify socket, starts the child reaper and the sampler.
  Status init();

  // --- verbs ---------------------------------------------------------------------------------
  void start(AppSpec spec, Reply reply);
  void stop(const std::vector<std::string>& targets, Reply reply);
  void restart(const std::vector<std::string>& targets,
               const std::map<std::string, std::string>* update_env, Reply reply);
  void remove(const std::vector<std::string>& targets, Reply reply);
  void scale(const std::string& app, const std::string& count, Reply reply);
  VerbResult reset(const std::vector<std::string>& targets);
  VerbResult send_signal(const std::string& signal, const std::vector<std::string>& targets);
  VerbResult flush(const std::vector<std::string>& targets);
  VerbResult save();
  void resurrect(Reply reply);
  // Restarts every instance of `app` because of `reason` (a cron fire, a file change), which is
  // logged. Skipped, with a log line, when the app is unknown or a restart of it is under way.
  void restart_app_for(const std::string& app, std::string reason);
  // Stops everything (for `kill` and daemon shutdown); `done` when no process is left.
  void stop_all(std::function<void()> done);

  nlohmann::json jlist() const;
  VerbResult describe(const std::vector<std::string>& targets) const;
  VerbResult env_of(const std::string& target) const;

  // Live log lines of the targets' instances: cb(app, id, "out"|"err", line). Returns an id for
  // unsubscribe_logs. Unknown targets are an error.
  using LogCallback =
      std::function<void(const std::string& app, int id, const char* stream, std::string_view)>;
  std::expected<std::uint64_t, VerbError> subscribe_logs(const std::vector<std::string>& targets,
                                                         LogCallback cb);
  void unsubscribe_logs(std::uint64_t id);

  // --- for Instance ---------------------------------------------------------------------------
  EventLoop& loop() { return loop_; }
  const Home& home() const { return home_; }
  std::shared_ptr<RotatingFile> log_file(const std::string& path, const AppSpec& spec);
  void on_log_line(const Instance& inst, const char* stream, std::string_view line);
  void register_pid(pid_t pid, Instance* inst) { by_pid_[pid] = inst; }
  void forget_pid(pid_t pid) { by_pid_.erase(pid); }
  const std::string& notify_path() const { return notify_.path(); }

 private:
  std::expected<std::vector<Instance*>, VerbError> resolve(
      const std::vector<std::string>& targets) const;
  App* find_app(const std::string& name) const;
  void add_instances(App& app, int count, std::vector<Instance*>* added);
  void on_sigchld();
  void on_notify(pid_t sender, std::string_view payload);
  Instance* instance_for_pid(pid_t pid) const;
  void stop_instances(std::vector<Instance*> list, std::function<void()> done);
  void restart_instances(const std::vector<Instance*>& list, Reply reply);
  void drop_empty_apps();
  VerbResult list_result(const std::vector<Instance*>& list) const;

  EventLoop& loop_;
  Home home_;
  NotifySocket notify_;
  Signal sigchld_;
  Timer sampler_;
  std::vector<std::unique_ptr<App>> apps_;
  std::map<pid_t, Instance*> by_pid_;
  int next_id_ = 0;
  std::map<std::string, std::weak_ptr<RotatingFile>> log_files_;

  struct LogSubscription {
    std::vector<int> ids;  // instance ids; empty = all
    LogCallback cb;
  };
  std::map<std::uint64_t, LogSubscription> log_subs_;
  std::uint64_t next_sub_ = 1;
};

}  // namespace herd::manager
