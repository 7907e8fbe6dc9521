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

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "app/app_spec.h"
#include "app/apply_plan.h"
#include "daemon/app.h"
#include "daemon/cgroup/cgroup_tree.h"
#include "daemon/home.h"
#include "daemon/hooks.h"
#include "daemon/instance.h"
#include "daemon/notify_socket.h"
#include "herd/loop/event_loop.h"
#include "herd/loop/signal.h"
#include "herd/loop/timer.h"
#include "logs/rotating_file.h"
#include "metrics/process_groups.h"
#include "protocol/error_code.h"
#include "protocol/requests.h"

namespace herd::manager {

// A failed verb: a stable code for scripts (E_UNKNOWN_TARGET, E_APP_EXISTS, E_SPAWN, ...) and a
// message for people; the reply's "error" as it is.
using VerbError = ErrorReply;
using VerbResult = std::expected<nlohmann::json, VerbError>;
using Reply = std::function<void(VerbResult)>;

class Supervisor : private InstanceHost {
 public:
  Supervisor(EventLoop& loop, Home home);
  // Kills the process groups (and cgroups) of instances still running; with cgroups, reaps the
  // processes it killed and removes herd's groups (waiting up to 2 s: the loop has ended).
  ~Supervisor();

  // Binds the notify socket, starts the child reaper and the sampler, detects cgroups.
  Status init();

  // --- resources (supervisor_resources.cc, docs/resources.md) ---
  // For `herd ping`: whether cgroups are on (CgroupTree::to_json).
  nlohmann::json cgroups_json() const;
  // At a fresh daemon start (not after `herd update`): the cgroups a dead daemon of this home
  // left are emptied and removed.
  void reclaim_cgroups();

  // --- verbs ---------------------------------------------------------------------------------
  void start(AppSpec spec, Reply reply);
  void stop(const std::vector<std::string>& targets, Reply reply);
  // `update_env`: variables laid over the environment each process had (nullptr: keep the
  // frozen one): the CLI's environment for --update-env, with the ecosystem file's variables on
  // top when the command named the file (Daemon::restart).
  void restart(const std::vector<std::string>& targets,
               const std::map<std::string, std::string>* update_env, Reply reply);
  // Rolling reload (reload.cc): instance by instance, at most `parallel` at once, a replacement
  // is started on the app's sockets; once it is ready the old one is stopped gracefully. An app
  // without sockets held by herd (fork mode without `listen`) cannot run two copies on one port:
  // its instances are restarted instead, with a warning. The first replacement that fails
  // (exits, or is not ready within listen_timeout with wait_ready) aborts the reload: its old
  // instance keeps serving, the rest are not touched, and the reply is E_RELOAD with the reason.
  // Success: {"processes": [...], "warnings": [...], "duration_ms": N}.
  void reload(const std::vector<std::string>& targets,
              const std::map<std::string, std::string>* update_env, int parallel, Reply reply);
  // Restarts every instance of `app` for an internal trigger (cron, watch, memory): a graceful
  // rolling reload when the app has sockets held by herd, else a restart. `reason` goes to
  // herd.log. Unknown apps are logged and ignored. Returns at once.
  void restart_app_for(const std::string& app, std::string reason);
  // The targets' apps' own variables (AppSpec::app_env) become `env`, before a restart or reload
  // lays them over the environment (with the CLI's under them); a variable the old ones had and
  // `env` lacks leaves the environment. Unknown targets are left to the verb.
  void replace_app_env(const std::vector<std::string>& targets,
                       const std::map<std::string, std::string>& env);
  void remove(const std::vector<std::string>& targets, Reply reply);
  void scale(const std::string& app, const std::string& count, Reply reply);
  VerbResult reset(const std::vector<std::string>& targets);
  VerbResult send_signal(const std::string& signal, const std::vector<std::string>& targets);
  VerbResult flush(const std::vector<std::string>& targets);
  // PM2's reloadLogs: every app log file open in the daemon is closed and opened again at its
  // path, so that after an outside rotation (logrotate's rename) lines go to a new file of the
  // original name. Returns the paths reopened (those that failed are logged, and retried by the
  // next line as after any write failure).
  nlohmann::json reopen_logs();
  // Writes dump.json. A daemon that has not started (or resurrected) any app yet refuses to
  // replace a dump that lists apps with its empty list (E_SAVE_EMPTY), unless `force`: that is
  // the CLI's freshly auto-started daemon after a crash, and the dump is what `resurrect` needs.
  VerbResult save(bool force = false);
  // Starts the apps of dump.json (or .bak) that do not run. E_NO_DUMP when neither is a valid
  // dump, or when the dump lists no app; `running` in the result names those that already ran.
  void resurrect(Reply reply);
  // Crash recovery (keeper.h). The running set, every app not stopped by a person (`stop`), goes
  // to Home::running() whenever it changed (the daemon calls this after every verb) and is
  // removed by forget_running() at a clean stop. restore_running() starts what the file lists, as
  // resurrect does (`previous`: the dead daemon's pid, 0 if unknown), and returns a sentence for
  // people saying so ("" when there was nothing to restore).
  void persist_running();
  void forget_running();
  // The daemon is stopping: herd's copies of the apps' listening sockets close first, so that
  // connections are refused once the instances have closed theirs (ListenSet::close_all).
  void close_listeners();
  std::string restore_running(pid_t previous);
  // `herd apply` (supervisor_apply.cc, docs/apply.md): makes the apps match `specs` following
  // plan_apply (app/apply_plan.h), one app after the other in dependency order. Replies
  // {"steps": [{"app", "action", "changes", "instances", "waiting"?, "error"?}, ...]} once every
  // step is done; a step that failed has "error" and the others still run. E_BAD_REQUEST before
  // anything changes for a depends_on naming an app neither in `specs` nor in the daemon.
  void apply(std::vector<AppSpec> specs, const ApplyOptions& options, int parallel, Reply reply);
  // Stops everything (for `kill` and daemon shutdown); `done` when no process is left.
  void stop_all(std::function<void()> done);

  // --- herd update (takeover.h) ---
  // Why the apps cannot be handed to a new daemon right now ("" when they can): an instance
  // starting, stopping or waiting for its restart, or a reload under way.
  std::string takeover_busy() const;
  // Every app and instance, with the descriptors to keep across exec appended to `keep`.
  nlohmann::json takeover_state(std::vector<int>* keep) const;
  // In the new daemon, after init(): the apps as they were, the same processes supervised.
  Status adopt_state(const nlohmann::json& state);

  nlohmann::json jlist(Instance::Detail detail = Instance::Detail::kFull) const;
  // How many processes jlist() lists, without building it.
  std::size_t process_count() const;
  // jlist() as JSON text (Instance::append_text): what the jlist verb sends.
  std::string jlist_text(Instance::Detail detail) const;
  // For GET /readyz: "" when every instance that should be online is (an instance stopped, by a
  // person or because it was not to restart, does not count; a reload's replacement still
  // starting does not either: the instance it replaces serves meanwhile). Otherwise a line that
  // names the first instances that are not ("not ready: api 0 launching, web 2 errored ..."); an
  // app waiting for its dependencies (depends_on) is not ready ("api 1 waiting").
  std::string not_ready() const;
  VerbResult describe(const std::vector<std::string>& targets) const;
  VerbResult env_of(const std::string& target) const;
  // heapdump and profile (supervisor_diagnostics.cc, docs/diagnostics.md): one instance of a
  // Node app writes a heap snapshot or a CPU profile to `file` (an absolute path whose folder
  // exists and which does not exist yet). `done` runs once, when the file is written (the
  // result: {"file", "bytes", "kind", "name", "pm_id"}) or it cannot be.
  void diagnose(Verb verb, const DiagnosticRequest& request, Reply done);

  // Live log lines of the targets' instances: cb(app, id, "out"|"err", line). Returns an id for
  // unsubscribe_logs. Unknown targets are an error.
  using LogCallback =
      std::function<void(const std::string& app, int id, const char* stream, std::string_view)>;
  std::expected<std::uint64_t, VerbError> subscribe_logs(const std::vector<std::string>& targets,
                                                         LogCallback cb);
  void unsubscribe_logs(std::uint64_t id);

  EventLoop& loop() override { return loop_; }
  const Home& home() const override { return home_; }

 private:
  // --- InstanceHost: what each Instance asks of its Supervisor ----------------------------------
  std::shared_ptr<RotatingFile> log_file(const std::string& path, const AppSpec& spec) override;
  void on_log_line(const Instance& inst, const char* stream, std::string_view line) override;
  void register_pid(pid_t pid, Instance* inst) override { by_pid_[pid] = inst; }
  void forget_pid(pid_t pid) override { by_pid_.erase(pid); }
  void watch_child(pid_t pid, std::function<void(int)> on_exit) override {
    child_watchers_[pid] = std::move(on_exit);
  }
  void unwatch_child(pid_t pid) override { child_watchers_.erase(pid); }
  CgroupTree* cgroups() override { return cgroups_.get(); }
  // Hooks connect here (health changed): today it only logs.
  const std::string& notify_path() const override { return notify_.path(); }
  void run_hook(const Instance& inst, HookEvent event, const HookDetails& details) override {
    hooks_.run(make_hook_request(inst, event, details));
  }
  InstanceHost& as_host() { return *this; }

  std::expected<std::vector<Instance*>, VerbError> resolve(
      const std::vector<std::string>& targets) const;
  // Adds the instances of the apps in namespace `t`, or running the script at the absolute path
  // `t`; false when there are none.
  bool add_namespace_or_script(const std::string& t,
                               const std::function<void(Instance*)>& add) const;
  App* find_app(const std::string& name) const;
  void add_instances(App& app, int count, std::vector<Instance*>* added);
  void on_sigchld();
  void on_notify(pid_t sender, std::string_view payload);
  Instance* instance_for_pid(pid_t pid) const;
  void stop_instances(std::vector<Instance*> list, std::function<void()> done);
  // start() of an app with autostart: false: replies with its instances, not started.
  void reply_registered(const std::vector<Instance*>& instances, Reply reply);
  // Makes and arms the app's watch and cron triggers unless it has them.
  void arm_triggers_once(App& app);
  // Stops `inst` and a reload replacement of it that is still starting; `done` once both ended.
  void stop_with_replacement(Instance* inst, std::function<void()> done);
  // --- reload.cc ---
  struct ReloadRun;
  using ReloadDone = std::function<void(std::string error, std::string warning)>;
  void reload_ids(std::vector<int> ids, int parallel, Reply reply);
  void reload_pump(std::shared_ptr<ReloadRun> run);
  void reload_instance(Instance& old, ReloadDone done);
  void restart_instance(Instance& old, ReloadDone done, std::string warning);
  void finish_replacement(App* app, Instance* next, std::string failure, ReloadDone done);
  void retire(App* app, Instance* inst, std::function<void()> then);
  Instance* instance_by_id(int id) const;
  void apply_update_env(const std::vector<Instance*>& list,
                        const std::map<std::string, std::string>& env);
  void check_memory(Instance& inst);
  // start()'s refusal of limits (max_memory, cpu_quota, max_tasks) when cgroups are off.
  std::optional<VerbError> refuse_limits(const AppSpec& spec) const;
  void drop_empty_apps();
  // The app's cron and watch triggers, restarting it through restart_app_for.
  std::unique_ptr<AppTriggers> make_triggers(App& app);
  // Starts each spec (resurrect, restore_running): `done` with the processes started and the
  // errors, once every start has answered.
  void start_each(
      std::vector<AppSpec> specs,
      std::function<void(nlohmann::json processes, std::vector<std::string> errors)> done);
  // Every instance, by id.
  std::vector<Instance*> by_id() const;
  // The apps the instances of `list` belong to, each once.
  static std::set<App*> apps_of(const std::vector<Instance*>& list);
  VerbResult list_result(const std::vector<Instance*>& list,
                         Instance::Detail detail = Instance::Detail::kFull) const;
  // --- supervisor_apply.cc ---
  struct ApplyRun;
  void apply_next(std::shared_ptr<ApplyRun> run);
  // The first errored instance of `name` as "errored: <reason>"; "" when none is.
  std::string errored_reason(const std::string& name) const;
  // --- supervisor_depends.cc ---
  // "waiting for db (errored), cache (launching)": the dependencies of `app` that do not meet
  // their condition yet; "" when all do.
  std::string unmet_dependency(const App& app) const;
  // start()'s refusal of a depends_on that names the app itself or an app the daemon lacks.
  std::optional<VerbError> refuse_dependencies(const AppSpec& spec) const;
  // Leaves the app's instances unstarted, waiting (App::waiting_for = `why`), until
  // check_waiting() finds its dependencies met.
  void hold_for_dependencies(App& app, std::string why);
  void check_waiting();
  // stop_instances in waves: the instances of the apps no other app of `list` depends on
  // first, then the rest, the same way; `done` once all have stopped.
  void stop_in_order(std::vector<Instance*> list, std::function<void()> done);

  EventLoop& loop_;
  Home home_;
  NotifySocket notify_;
  // watch_child(); before hooks_, which unwatches its children when destroyed.
  std::map<pid_t, std::function<void(int)>> child_watchers_;
  HookRunner hooks_{loop_,
                    *this};  // before apps_: instances may fire hooks until they are destroyed
  Signal sigchld_;
  Timer sampler_;
  // The sampler's reads of the process groups of instances without a cgroup; kept between ticks
  // (its descriptors close when no instance asks for a tick).
  ProcessGroups proc_groups_;
  Timer depends_timer_;  // polls the apps waiting for their dependencies (supervisor_depends.cc)
  bool depends_timer_active_ = false;
  // Before apps_: instances release their cgroups when destroyed.
  std::unique_ptr<CgroupTree> cgroups_;
  std::vector<std::unique_ptr<App>> apps_;
  // The size of the last jlist_text() of each Detail, with room: the next one reserved at once.
  mutable std::array<std::size_t, 3> listing_sizes_{};
  std::map<pid_t, Instance*> by_pid_;
  int next_id_ = 0;
  std::map<std::string, std::weak_ptr<RotatingFile>> log_files_;

  struct LogSubscription {
    std::vector<int> ids;  // instance ids; empty = all
    LogCallback cb;
  };
  std::map<std::uint64_t, LogSubscription> log_subs_;
  std::uint64_t next_sub_ = 1;
  std::string running_written_;  // what persist_running() wrote last
};

}  // namespace herd::manager
