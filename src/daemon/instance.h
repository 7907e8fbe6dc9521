// Instance: one running copy of an app (one pm_id), and its life:
//
//   start() ──> launching ──ready──> online ──exit──> (restart policy)
//                   │                                   ├─ restart: waiting restart ─> launching
//                   └─exit──> (restart policy)           ├─ errored (too many unstable restarts)
//   stop(): launching/online ─> stopping ─exit─> stopped └─ stopped
//
// Ready means: READY=1 on the notify socket (or process.send('ready') for Node programs with
// wait_ready); without wait_ready, also surviving min_uptime; with wait_ready, listen_timeout
// passing makes it online anyway (PM2's rule), with a note in `describe`.
//
// A reload runs a second Instance with the same pm_id and index next to the serving one: the
// replacement, started with start_replacement(). Until it is ready it has no restart policy: it
// either becomes ready (and takes over the old one's counters with take_over_from) or fails.
//
// Threads: the daemon's loop thread only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "daemon/cgroup/cgroup_meter.h"
#include "daemon/cluster_mode/bind_channel.h"
#include "daemon/code_metrics.h"
#include "daemon/hook_event.h"
#include "daemon/instance_diagnostics.h"
#include "daemon/instance_host.h"
#include "daemon/instance_status.h"
#include "daemon/node_diagnostics.h"
#include "daemon/restart_policy.h"
#include "daemon/user.h"
#include "daemon/watchdog.h"
#include "herd/base/fd.h"
#include "herd/loop/event_loop.h"
#include "herd/loop/io_watcher.h"
#include "herd/loop/timer.h"
#include "logs/output_pipe.h"
#include "metrics/proc_stats.h"
#include "metrics/process_groups.h"
#include "protocol/json_members.h"

namespace herd::manager {

class App;
class CgroupTree;
class HealthMonitor;
struct SpawnOptions;

// How often herd's Node preload reports its code metrics (HERD_CODE_METRICS).
inline constexpr int kCodeMetricsIntervalMs = 1000;

// Milliseconds since the epoch (pm_uptime, created_at).
std::uint64_t wall_clock_ms();

class Instance {
 public:
  Instance(InstanceHost& host, App& app, int id, int index);
  ~Instance();
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  // Spawns the process. On failure the instance is errored, with the reason as its status text.
  Status start();
  // Spawns the process as the replacement of a reload. `result` runs once, from a loop callback
  // of this instance (so it must not destroy it): with "" when it is ready (READY=1 / 'ready';
  // without wait_ready, also surviving min_uptime), or with the reason it failed: it exited
  // first, listen_timeout passed (wait_ready) or it was stopped. A failed one is stopped (not
  // restarted). An error return means the spawn failed and `result` will not run.
  Status start_replacement(std::function<void(std::string failure)> result);
  // The replacement takes over the history of the instance it replaces (created_at, restart and
  // reload counts, +1 each) and from now on follows the restart policy.
  void take_over_from(const Instance& old);
  // Stops it (stop signal to the process group, SIGKILL after kill_timeout); `done` runs once no
  // process of it is left. A pending restart is cancelled.
  void stop(std::function<void()> done);
  // Runs `cb` once the instance is no longer launching (online, errored, stopped, or crashed and
  // waiting for its restart).
  void when_settled(std::function<void()> cb);

  // From the supervisor: the process `pid_` ended with wait(2) status `wstatus`.
  void on_exit(int wstatus);
  // From the supervisor: the process (or one of its descendants) said READY=1 / 'ready'.
  void on_ready();
  // The process listens on a socket herd gave it (bind channel): ready, in cluster mode without
  // wait_ready.
  void on_listening();
  // Whether launching ended by listen_timeout without the process listening (cluster mode).
  bool listen_timed_out() const { return listen_timed_out_; }
  void set_status_text(std::string text) { status_text_ = std::move(text); }
  // Marks a serving instance whose replacement (pid `replacement`) is starting; 0 clears it.
  void set_replacement_pid(pid_t replacement) { replacement_pid_ = replacement; }
  bool reloading() const { return replacement_pid_ > 0; }
  // Samples CPU and memory of the whole process tree (once a second, from the supervisor): its
  // cgroup's (through cgroup_meter_), or the sum over its process group from `groups` (the
  // supervisor's, shared by every instance: process_groups.h), or its main process's alone when
  // `groups` is nullptr. instance_report.cc.
  void sample(std::uint64_t now_mono_ms, ProcessGroups* groups = nullptr);

  int id() const { return id_; }
  int index() const { return index_; }
  pid_t pid() const { return pid_; }
  // How the last run ended (0, 0 before any), and when it first started (0: never).
  int last_exit_code() const { return last_exit_code_; }
  int last_signal() const { return last_signal_; }
  std::uint64_t created_at_ms() const { return created_at_ms_; }
  InstanceStatus status() const { return status_; }
  App& app() const { return *app_; }
  bool is_running() const { return pid_ > 0; }
  bool stop_requested() const { return stop_requested_; }
  // The last sample's memory of the whole tree (0 when not running).
  std::uint64_t rss_bytes() const { return rss_bytes_; }
  // The last sample's CPU use (percent of one CPU) and CPU time (ms) of the whole tree.
  double cpu_percent() const { return cpu_percent_; }
  std::uint64_t cpu_time_ms() const { return cpu_time_ms_; }
  // The cgroup of the running process ("" without one) and why the last run ended when the
  // kernel ended it ("oom"; "" otherwise).
  const std::string& cgroup() const { return cgroup_; }
  const std::string& exit_reason() const { return exit_reason_; }
  // Its memory trend and load counts (docs/diagnostics.md).
  const InstanceDiagnostics& diagnostics() const { return diagnostics_; }
  int reloads() const { return reloads_; }
  const std::string& status_text() const { return status_text_; }
  // The absolute path of the script it runs (PM2's pm_exec_path; a program found in PATH is its
  // full path), or the command line for a shell command; resolved now when it never started.
  std::string exec_path() const;
  // A restart someone asked for counts in restart_time, as in PM2; its restart hook runs once
  // the new process is spawned.
  void count_manual_restart();
  // Runs the app's hook for `event`, if it has one (hooks.h); `details.pid` 0 = pid(). For the
  // events herd sees elsewhere (health checks: HookEvent::kHealth). instance_events.cc.
  void fire_hook(HookEvent event, HookDetails details);
  // A notify payload from this instance's process: its WATCHDOG= lines (watchdog.h).
  void on_watchdog_notify(std::string_view payload) { watchdog_.on_notify(payload); }
  const Watchdog& watchdog() const { return watchdog_; }
  // instance_code_metrics.cc (docs/diagnostics.md): a heap snapshot ("heapdump") or a CPU
  // profile of `duration_ms` ("profile") written by the running process to `file`, through
  // herd's Node preload; `done` runs once, maybe before this returns (a Node app stopped, not
  // Node, or without the preload gets its error at once).
  void diagnose(std::string_view kind, const std::string& file, std::int64_t duration_ms,
                NodeDiagnostics::Done done);
  // A notify payload's HERD_METRICS= report (a libherd program's code metrics).
  void on_metrics_notify(std::string_view json_text);
  const CodeMetrics& code_metrics() const { return code_metrics_; }
  void reset_counters() {
    restarts_ = 0;
    policy_ = {};
  }
  // Its health check's monitor while a process runs (nullptr without a check or a process).
  const HealthMonitor* health() const;
  // Whether a health check decides readiness: then launching ends only when it passes.
  bool health_gates_ready() const;
  // A reload's replacement runs beside `old` with the same index: in cluster mode it is probed
  // on the other of the slot's two health ports (docs/health-checks.md).
  void take_other_health_port(const Instance& old) { health_alt_port_ = !old.health_alt_port_; }
  // The environment the process was (or will be) started with, "KEY=value".
  const std::vector<std::string>& env() const { return env_; }

  // The instance in PM2's jlist shape (see docs/control-protocol.md); kBrief leaves out
  // pm2_env.env, the environment (jlist's "brief", for monit and metrics); kRow holds only the
  // members `herd ls` renders and sorts by, each with the value kFull gives it (jlist's "rows";
  // instance_row.cc), and is built without the rest.
  enum class Detail { kFull, kBrief, kRow };
  nlohmann::json to_json(Detail detail = Detail::kFull) const;
  // Appends to_json(detail).dump() (indent -1, invalid UTF-8 replaced) to *out, written
  // without the tree: the members go straight to text, and the environment is a copy of its
  // text kept since the spawn (its thousands of bytes are not built and escaped again on every
  // list). For kRow, the row's text (row_text()).
  void append_text(Detail detail, std::string* out) const;
  // pm2_env.diagnostics: the memory trend, and the load share in cluster mode.
  nlohmann::json diagnostics_json() const;
  // This instance's share of its cluster-mode app's load at the last sample (an empty share in
  // fork mode, or for a reload's replacement not yet among the app's instances). Read from
  // App::listed_shares while a listing fills it; else computed over the app's instances.
  LoadShare load_share() const;
  // Every listed instance's share of `app`'s load, computed once (load_share() of each would
  // go over all of them each time: k instances, k² steps).
  static std::unordered_map<const Instance*, LoadShare> load_shares_of(const App& app);
  // env() as an object {"KEY": "value"} (pm2_env.env, `herd env`).
  nlohmann::json env_json() const;
  // env_json() as text, kept until the environment changes (env_changed()).
  const std::string& env_text() const;
  void env_changed() { env_text_.clear(); }

  // `herd update` (takeover.h): everything a new daemon needs to go on supervising this running
  // instance, with the descriptors it must keep across exec appended to `keep`. Only for a
  // settled instance (online, stopped, errored: no timer of its own pending).
  nlohmann::json takeover_state(std::vector<int>* keep) const;
  // The other side, in the new daemon: the instance as it was, its process registered, its
  // output pipes, IPC and bind channels adopted.
  Status adopt(const nlohmann::json& state);

  // Log file paths (PM2's naming).
  std::string out_log_path() const;
  std::string err_log_path() const;
  // The combined log (-l / log_file) of this instance; "" without one.
  std::string combined_log_path() const;
  std::string pid_file_path() const;
  // Writes pid_file_path() with the running process's pid (a reload's replacement overwrote it).
  void write_pid_file() const;

 private:
  // The one place the status changes: checked against transition_allowed, logged.
  void set_status(InstanceStatus s);
  // start()'s steps: the failure that leaves the instance errored, the bookkeeping of a new
  // process, and the timer that ends launching (min_uptime, listen_timeout).
  Status fail_start(const Error& e);
  void on_spawned(pid_t pid);
  void arm_ready_timer();
  void on_ready_timer();
  void end_probation(std::string failure);
  void settle();
  // The stop signal to the process group (or PM2's shutdown message over IPC), and SIGKILL
  // after kill_timeout unless it exited by then.
  void send_stop();
  void schedule_restart(std::uint64_t delay_ms);
  void start_ipc(Fd fd);
  // The process ended: its channel closes, its requests fail, its code metrics go.
  void stop_ipc();
  void on_ipc_readable();
  // A complete IPC line that is a JSON object: a report or an answer of herd's preload.
  void on_ipc_object(std::string_view line);
  // Writes one message (JSON text) on the app's Node IPC channel; false when it has none (not a
  // Node app), the app closed it, or the message did not fit.
  bool send_ipc_line(std::string_view json_text);
  void attach_output(Fd out, Fd err);
  void note_log_errors(const std::vector<std::shared_ptr<RotatingFile>>& sinks);
  BindChannel::Handlers bind_handlers();
  // Prepares herd's bind library for this run (cluster mode): the channel, LD_PRELOAD, and for
  // node the preload script. Leaves `o` alone (and logs why) when it cannot.
  // Returns the channel end the child gets (invalid when nothing is injected).
  Fd prepare_injection(SpawnOptions& o, const std::string& interpreter);
  void prepare_node_preload(SpawnOptions& o, const std::string& interpreter);
  void add_code_metrics_env(SpawnOptions& o);
  // The app's uid/gid settings (instance_identity.cc): the identity spawn() takes, and HOME,
  // USER, LOGNAME and SHELL in env_ as runuser(1) sets them. Errors name the user or group.
  Status prepare_identity(SpawnOptions& o);
  // jlist's uid, gid and username of the account it runs as (only with a uid/gid setting).
  void report_identity(nlohmann::json* pm2_env) const;
  // What to_json and append_text list, gathered once for both (instance_report.cc): the process
  // object's members, its monit's and its pm2_env's; the environment as its kept text when
  // `env_as_text`, else as an object.
  struct Listed {
    JsonMembers top;
    JsonMembers monit;
    JsonMembers pm2_env;
  };
  void list_members(Detail detail, bool env_as_text, Listed* listed) const;
  // pm2_env's members that reporters add (the account, the exit reason, the cgroup, the health
  // check, the triggers, watchdog pings, diagnostics, code metrics), as one object.
  nlohmann::json reported() const;
  // to_json(Detail::kRow) and append_text(Detail::kRow): the row written as text, and parsed
  // (instance_row.cc).
  std::string row_text() const;
  nlohmann::json row_json() const;
  // instance_cgroup.cc: a new cgroup for the next process, with the app's limits; the child
  // joins it through `procs` (kept open until spawn() returns). EINVAL naming the setting when
  // the app has limits and cgroups are off.
  Status prepare_cgroup(SpawnOptions& o, std::vector<Fd>* procs);
  // SIGKILL to the process group and to everything in the cgroup (a process that left the
  // group with setsid() too).
  void kill_all();
  // After the process exited: whether the kernel's OOM killer ended it (exit_reason_), and the
  // cgroup emptied and released.
  void end_cgroup();
  // The cgroup's usage; false without a cgroup (or when it cannot be read).
  bool sample_cgroup(std::uint64_t now_mono_ms);
  bool ready_on_listen() const;
  // instance_health.cc: the monitor of each run, what its verdicts do, jlist's health object.
  void start_health();
  void stop_health();
  void on_health_passed();
  void on_health_failed(const std::string& reason);
  void replace_unhealthy(const std::string& reason);
  void report_health(nlohmann::json* pm2_env) const;
  // What the program measured of itself (docs/diagnostics.md), also in PM2's axm_monitor shape.
  void report_code_metrics(nlohmann::json* pm2_env) const;
  // The port a http/tcp check probes (0 for exec); EINVAL with a sentence when there is none or
  // it would not reach this instance alone (cluster mode). PORT is read from `env` when given
  // (build_env's map), else from env_.
  Result<int> health_port(const std::map<std::string, std::string>* env = nullptr) const;
  // instance_events.cc: the watchdog armed at spawn, and what it does when it runs out; the
  // hooks and status text of an exit and of a new run after a restart.
  void arm_watchdog();
  void on_watchdog_expired(std::string reason);
  void report_exit(pid_t old, RestartDecision& d);
  void report_spawn();
  std::vector<std::string> build_env() const;

  InstanceHost& host_;
  App* app_;
  int id_;
  int index_;

  pid_t pid_ = 0;
  InstanceStatus status_ = InstanceStatus::kStopped;
  std::uint64_t created_at_ms_ = 0;  // wall clock, first start
  std::uint64_t started_at_ms_ = 0;  // wall clock, this run (pm_uptime)
  std::uint64_t started_mono_ms_ = 0;
  int restarts_ = 0;
  int reloads_ = 0;                             // reloads that replaced this slot's process
  pid_t replacement_pid_ = 0;                   // a reload's replacement is starting
  std::function<void(std::string)> probation_;  // set while a replacement is not ready yet
  RestartState policy_;
  int last_exit_code_ = 0;
  int last_signal_ = 0;
  std::string log_error_;    // the log files that could not be opened at the last start, and why
  std::string status_text_;  // sd_notify STATUS=, or why it is errored/stopped
  bool stop_requested_ = false;
  std::vector<std::string> env_;
  std::optional<Identity> identity_;  // the account of the last start, with uid/gid settings
  std::string interpreter_ = "none";
  std::string exec_path_;  // what the last start resolved the script to

  Watchdog watchdog_;
  std::string kill_reason_;     // why herd killed the running process (watchdog, health check)
  std::string restart_reason_;  // why the next spawn is a restart (for its hook)
  std::string restart_note_;    // the next run's status text ("restarted after: ...")

  Timer restart_timer_;
  Timer kill_timer_;
  Timer ready_timer_;
  std::vector<std::function<void()>> stop_waiters_;
  std::vector<std::function<void()>> settle_waiters_;

  // stdout/stderr readers; a finished process's pipes stay until their EOF.
  std::list<std::unique_ptr<OutputPipe>> pipes_;

  std::unique_ptr<BindChannel> bind_channel_;
  bool listen_timed_out_ = false;

  Fd ipc_;
  std::unique_ptr<IoWatcher> ipc_watcher_;
  std::string ipc_buffer_;     // the IPC message being read (at most 4 KiB)
  bool ipc_skipping_ = false;  // the current IPC message is too long for herd: skip to its end
  bool node_preload_ = false;  // this run has herd's Node preload (--require)
  CodeMetrics code_metrics_;
  std::unique_ptr<NodeDiagnostics> node_diagnostics_;  // while the IPC channel is open

  std::unique_ptr<HealthMonitor> health_;
  bool health_passed_ = false;       // this run passed its readiness check
  bool health_alt_port_ = false;     // cluster mode: probed on port + kMaxInstances + index
  std::string last_restart_reason_;  // why the last liveness restart happened (jlist, describe)

  std::string cgroup_;  // the running process's cgroup (cgroup_tree.h), "" = none
  // cgroup_'s usage files kept open for the sampler; made at its first sample (also after
  // `herd update`, whose exec closed them), dropped with the group.
  std::optional<CgroupMeter> cgroup_meter_;
  std::string exit_reason_;           // "oom" when the kernel's OOM killer ended the last run
  std::uint64_t oom_kills_seen_ = 0;  // OOM kills in cgroup_ already logged (sample_cgroup)

  CpuMeter cpu_;
  double cpu_percent_ = 0;
  std::uint64_t rss_bytes_ = 0;
  mutable std::string env_text_;   // env_text()'s copy; empty: to build
  std::uint64_t cpu_time_ms_ = 0;  // CPU time of the whole tree, at the last sample
  InstanceDiagnostics diagnostics_;
};

}  // namespace herd::manager
