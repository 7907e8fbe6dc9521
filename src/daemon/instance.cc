#include "daemon/instance.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "app/command.h"
#include "daemon/app.h"
#include "daemon/cgroup/cgroup_tree.h"
#include "daemon/health/health_monitor.h"
#include "daemon/home.h"
#include "daemon/spawn.h"
#include "daemon/state_file.h"
#include "herd/base/log.h"

namespace herd::manager {
namespace {

// Log paths: PM2's naming. "-<id>" is left out with merge_logs and for a single fork instance.
std::string log_path(const Instance& inst, const std::string& custom, const char* kind) {
  const App& app = inst.app();
  bool single = !app.cluster() && app.spec.resolved_instances(1) == 1 && app.instances.size() <= 1;
  bool suffix = !app.spec.merge_logs && !single;
  if (!custom.empty()) {
    if (!suffix) return custom;
    auto dot = custom.rfind('.');
    auto slash = custom.rfind('/');
    if (dot != std::string::npos && (slash == std::string::npos || dot > slash)) {
      return fmt::format("{}-{}{}", custom.substr(0, dot), inst.id(), custom.substr(dot));
    }
    return fmt::format("{}-{}", custom, inst.id());
  }
  return suffix ? fmt::format("{}/logs/{}-{}-{}.log", "{home}", app.name, kind, inst.id())
                : fmt::format("{}/logs/{}-{}.log", "{home}", app.name, kind);
}

}  // namespace

std::uint64_t wall_clock_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

Instance::Instance(InstanceHost& host, App& app, int id, int index)
    : host_(host),
      app_(&app),
      id_(id),
      index_(index),
      watchdog_(host.loop()),
      restart_timer_(host.loop()),
      kill_timer_(host.loop()),
      ready_timer_(host.loop()) {
  created_at_ms_ = wall_clock_ms();
}

Instance::~Instance() {
  if (pid_ > 0) {
    // Only reached when the daemon itself goes away without stopping: take the group along.
    kill_all();
    host_.forget_pid(pid_);
  }
  cgroup_meter_.reset();  // its descriptors close before the group goes
  if (CgroupTree* tree = host_.cgroups(); tree && !cgroup_.empty()) tree->release(cgroup_);
}

std::string Instance::out_log_path() const {
  std::string p = log_path(*this, app_->spec.out_file, "out");
  if (p.rfind("{home}", 0) == 0) p = host_.home().dir + p.substr(6);
  return p;
}

std::string Instance::err_log_path() const {
  std::string p = log_path(*this, app_->spec.error_file, "error");
  if (p.rfind("{home}", 0) == 0) p = host_.home().dir + p.substr(6);
  return p;
}

// PM2 gives the combined log (-l) the same "-<id>" as the others (God.js, executeApp).
// `log_file: true` (-l without a path): PM2's default place, <logs>/<name>.log (lib/Common.js).
std::string Instance::combined_log_path() const {
  const std::string& file = app_->spec.log_file;
  if (file.empty()) return "";
  if (file == kDefaultLogFile) {
    return log_path(*this, fmt::format("{}/{}.log", host_.home().logs_dir(), app_->name), "log");
  }
  return log_path(*this, file, "log");
}

std::vector<std::string> Instance::build_env() const {
  std::map<std::string, std::string> env = app_->spec.env;
  // The instance number under PM2's instance_var (NODE_APP_INSTANCE unless renamed), and always
  // as HERD_INSTANCE.
  const std::string& instance_var = app_->spec.instance_var;
  if (!instance_var.empty()) env[instance_var] = std::to_string(index_);
  // PM2's increment_var: the variable counts up by instance (PORT=3000: 3000, 3001, ...).
  // The ecosystem loader refuses a value that is not a number; one that became so since (an
  // --update-env) counts from 0, as PM2's Number(value) || 0 does.
  if (auto counted = increment_var_value(app_->spec, index_); !counted) {
    log_warn("app {} (id {}): {}; counting from 0", app_->name, id_, counted.error().context());
    env[app_->spec.increment_var] = std::to_string(index_);
  } else if (*counted) {
    env[app_->spec.increment_var] = std::to_string(**counted);
  }
  env["HERD_INSTANCE"] = std::to_string(index_);
  env["HERD_APP_NAME"] = app_->name;
  env["HERD_ID"] = std::to_string(id_);
  env["pm_id"] = std::to_string(id_);
  env["name"] = app_->name;
  env["NOTIFY_SOCKET"] = host_.notify_path();
  // The port its health check probes, for an app that listens on one of its own for it.
  if (auto port = health_port(&env); port && *port > 0) {
    env["HERD_HEALTH_PORT"] = std::to_string(*port);
  }
  // systemd's WatchdogSec; WATCHDOG_PID (the child's own pid) is added by spawn().
  if (app_->spec.watchdog_ms > 0)
    env["WATCHDOG_USEC"] = std::to_string(app_->spec.watchdog_ms * 1000);
  // Variables a parent set for itself must not mislead the app.
  for (const char* k : {"LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "NODE_CHANNEL_FD",
                        "NODE_CHANNEL_SERIALIZATION_MODE", "HERD_BIND_FD", "HERD_BIND_PID",
                        "HERD_ACCEPT_FD", "HERD_CODE_METRICS"}) {
    env.erase(k);
  }
  env.erase("WATCHDOG_PID");  // spawn() sets the child's own with a watchdog
  if (app_->spec.watchdog_ms == 0) {
    env.erase("WATCHDOG_USEC");
  }
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

Status Instance::fail_start(const Error& e) {
  status_text_ = e.message();
  restart_reason_.clear();  // no new process: no restart hook
  set_status(InstanceStatus::kErrored);
  fire_hook(HookEvent::kErrored, hook_reason("it could not start: " + e.message()));
  return std::unexpected(e);
}

Status Instance::start() {
  restart_timer_.stop();
  stop_requested_ = false;
  const AppSpec& spec = app_->spec;
  auto cmd = resolve_command(spec);
  if (!cmd) return fail_start(cmd.error());
  auto out = Fd::pipe();
  auto err = Fd::pipe();
  if (!out || !err) return fail_start(!out ? out.error() : err.error());

  interpreter_ = cmd->interpreter;
  exec_path_ = cmd->exec_path;
  SpawnOptions o;
  o.argv = cmd->argv;
  o.cwd = spec.cwd;
  env_ = build_env();
  env_changed();
  if (auto port = health_port(); !port) return fail_start(port.error());
  if (Status s = prepare_identity(o); !s) return fail_start(s.error());
  std::vector<Fd> cgroup_procs;  // open until spawn() returns
  if (Status s = prepare_cgroup(o, &cgroup_procs); !s) return fail_start(s.error());
  o.env = env_;
  o.watchdog_pid = spec.watchdog_ms > 0;
  o.stdout_fd = out->second.get();
  o.stderr_fd = err->second.get();
  if (app_->cluster()) {
    o.listen_fds = app_->sockets.fds();
    o.listen_names = app_->sockets.names();
  }
  Fd bind_end;
  bind_end = prepare_injection(o, cmd->interpreter);
  std::optional<std::pair<Fd, Fd>> ipc;
  if (cmd->interpreter == "node") {
    // Node's IPC channel, always, as PM2 gives every Node app one: process.send() exists and
    // an app that calls process.send('ready') unconditionally works with or without
    // wait_ready. Messages are JSON lines; herd reads them all and uses only 'ready' (and only
    // with wait_ready, see on_ipc_readable).
    auto pair = Fd::socketpair(AF_UNIX, SOCK_STREAM);
    if (pair) {
      ipc.emplace(std::move(*pair));
      o.ipc_fd = ipc->second.get();
      // Node expects a blocking descriptor it can set up itself.
      (void)set_nonblocking(ipc->second.get(), false);  // fcntl on a fresh socket: cannot fail
    }
  }

  auto pid = spawn(o);
  bind_end.reset();  // the child has its copy
  if (!pid) {
    bind_channel_.reset();
    log_error("app {} (id {}): {}", app_->name, id_, pid.error().message());
    return fail_start(pid.error());
  }
  out->second.reset();  // the child has its copies; EOF comes when it (and its children) exit
  err->second.reset();
  on_spawned(*pid);
  attach_output(std::move(out->first), std::move(err->first));
  if (ipc) start_ipc(std::move(ipc->first));
  if (bind_channel_) {
    if (Status st = bind_channel_->start(); !st) {
      log_warn("app {} (id {}): herd's bind channel: {}", app_->name, id_, st.error().message());
      bind_channel_.reset();
    }
  }
  write_pid_file();

  set_status(InstanceStatus::kLaunching);
  listen_timed_out_ = false;
  arm_ready_timer();
  start_health();
  return {};
}

void Instance::on_spawned(pid_t pid) {
  pid_ = pid;
  host_.register_pid(pid_, this);
  started_at_ms_ = wall_clock_ms();
  started_mono_ms_ = host_.loop().now();
  status_text_.clear();
  cpu_.reset();
  cpu_percent_ = 0;
  rss_bytes_ = 0;
  cpu_time_ms_ = 0;
  report_spawn();
}

void Instance::arm_ready_timer() {
  const AppSpec& spec = app_->spec;
  // The health check decides (its own bound: initial_delay + failures x interval).
  if (health_gates_ready()) return;
  std::uint64_t wait =
      spec.wait_ready || ready_on_listen() ? spec.listen_timeout_ms : spec.min_uptime_ms;
  ready_timer_.start([this] { on_ready_timer(); }, wait);
}

void Instance::on_ready_timer() {
  if (status_ != InstanceStatus::kLaunching) return;
  const AppSpec& spec = app_->spec;
  if (ready_on_listen()) {
    // PM2 too counts an instance that never listens as online in the end.
    listen_timed_out_ = true;
    status_text_ =
        fmt::format("it did not listen within listen_timeout ({} ms)", spec.listen_timeout_ms);
    log_warn("app {} (id {}): {}; considered online", app_->name, id_, status_text_);
    on_ready();
    return;
  }
  if (spec.wait_ready && probation_) {
    // A replacement that never says it is ready must not take over: the reload fails.
    end_probation(fmt::format("it did not say it was ready within listen_timeout ({} ms)",
                              spec.listen_timeout_ms));
    return;
  }
  if (spec.wait_ready) {
    status_text_ =
        fmt::format("no ready signal within listen_timeout ({} ms)", spec.listen_timeout_ms);
    log_warn("app {} (id {}): {}; considered online", app_->name, id_, status_text_);
  }
  on_ready();
}

Status Instance::start_replacement(std::function<void(std::string failure)> result) {
  if (Status s = start(); !s) return s;
  probation_ = std::move(result);
  return {};
}

void Instance::take_over_from(const Instance& old) {
  created_at_ms_ = old.created_at_ms_;
  restarts_ = old.restarts_ + 1;  // PM2 counts a reload in restart_time
  reloads_ = old.reloads_ + 1;
  policy_ = old.policy_;
}

void Instance::end_probation(std::string failure) {
  auto result = std::move(probation_);
  probation_ = nullptr;
  if (!failure.empty()) {
    status_text_ = failure;
    log_warn("app {} (id {}): replacement pid {} failed: {}", app_->name, id_, pid_, failure);
    fire_hook(HookEvent::kReloadFailed, hook_reason(failure));
    if (pid_ > 0) stop(nullptr);
  }
  if (result) result(std::move(failure));
}

void Instance::attach_output(Fd out, Fd err) {
  const AppSpec& spec = app_->spec;
  OutputPipe::Options po;
  // PM2: log_type json, else log_date_format, shape the line; herd's own `time` prefix only
  // when neither is set.
  po.format.json = spec.log_type == "json";
  po.format.date_format = spec.log_date_format;
  // PM2's `time` is log_date_format "YYYY-MM-DDTHH:mm:ss", which is json's timestamp then.
  if (po.format.json && spec.time && spec.log_date_format.empty()) {
    po.format.date_format = "YYYY-MM-DDTHH:mm:ss";
  }
  po.format.process_id = id_;
  po.format.app_name = app_->name;
  po.timestamps = spec.time && !po.format.json && spec.log_date_format.empty();
  log_error_.clear();
  std::shared_ptr<RotatingFile> combined;
  if (!spec.log_file.empty()) combined = host_.log_file(combined_log_path(), spec);
  struct Stream {
    Fd fd;
    std::string path;
    const char* name;
  } streams[] = {{std::move(out), out_log_path(), "out"}, {std::move(err), err_log_path(), "err"}};
  for (auto& s : streams) {
    std::vector<std::shared_ptr<RotatingFile>> sinks{host_.log_file(s.path, spec)};
    if (combined) sinks.push_back(combined);
    note_log_errors(sinks);
    po.format.type = s.name;
    auto pipe = std::make_unique<OutputPipe>(host_.loop(), std::move(s.fd), std::move(sinks), po);
    OutputPipe* raw = pipe.get();
    const char* name = s.name;
    raw->subscribe([this, name](std::string_view line) { host_.on_log_line(*this, name, line); });
    raw->set_close_callback([this, raw](Status) {
      // Allowed by OutputPipe's contract: destroyed inside its close callback.
      pipes_.remove_if([raw](const std::unique_ptr<OutputPipe>& p) { return p.get() == raw; });
    });
    if (Status st = raw->start(); !st) {
      log_warn("app {} (id {}): cannot read its {}: {}", app_->name, id_, name,
               st.error().message());
      continue;
    }
    pipes_.push_back(std::move(pipe));
  }
}

// A log file that could not be opened (a folder herd may not create, a symlink...) is said in
// herd.log by the file's own callback, and here for `start` and `describe`: never silently.
void Instance::note_log_errors(const std::vector<std::shared_ptr<RotatingFile>>& sinks) {
  for (const auto& f : sinks) {
    if (!f || !f->failing() || !f->last_error()) continue;
    std::string text = fmt::format("log file {}: {}; its lines are dropped", f->path(),
                                   f->last_error()->message());
    if (log_error_.find(text) != std::string::npos) continue;
    if (!log_error_.empty()) log_error_ += "; ";
    log_error_ += text;
  }
}

void Instance::on_ready() {
  if (status_ != InstanceStatus::kLaunching) return;
  if (health_gates_ready() && !health_passed_) return;  // READY=1 alone is not enough
  ready_timer_.stop();
  set_status(InstanceStatus::kOnline);
  if (probation_) end_probation("");
}

void Instance::when_settled(std::function<void()> cb) {
  if (status_ == InstanceStatus::kLaunching) {
    settle_waiters_.push_back(std::move(cb));
  } else {
    cb();
  }
}

void Instance::settle() {
  auto waiters = std::move(settle_waiters_);
  settle_waiters_.clear();
  for (auto& w : waiters) w();
}

void Instance::set_status(InstanceStatus s) {
  if (!transition_allowed(status_, s)) {
    log_error("app {} (id {}): status {} -> {} is not a change an instance makes", app_->name, id_,
              status_name(status_), status_name(s));
    HERD_DCHECK(false, "an instance's status changed in a way InstanceStatus does not allow");
  }
  log_debug("app {} (id {}): {} -> {}", app_->name, id_, status_name(status_), status_name(s));
  status_ = s;
  // Whoever waits for the instance to settle hears about it as soon as it leaves launching.
  if (s != InstanceStatus::kLaunching) settle();
}

void Instance::stop(std::function<void()> done) {
  restart_timer_.stop();
  ready_timer_.stop();
  stop_health();
  watchdog_.stop();  // a process being stopped is not watched any more
  restart_reason_.clear();
  if (pid_ <= 0) {
    if (status_ != InstanceStatus::kStopped) set_status(InstanceStatus::kStopped);
    if (done) done();
    return;
  }
  if (done) stop_waiters_.push_back(std::move(done));
  if (stop_requested_) return;  // already stopping; the waiter joins
  stop_requested_ = true;
  set_status(InstanceStatus::kStopping);
  send_stop();
}

void Instance::send_stop() {
  // PM2's shutdown_with_message (God/Methods.js killProcess): the IPC message 'shutdown'
  // instead of the signal, when the app has a channel; the signal otherwise, as PM2 falls back.
  if (!app_->spec.shutdown_with_message || !send_ipc_line("\"shutdown\"")) {
    int sig = parse_signal(app_->spec.kill_signal).value_or(SIGINT);
    // The whole process group: a shell wrapper's children stop too.
    if (::kill(-pid_, sig) < 0) ::kill(pid_, sig);  // it may have left its group (setsid)
  }
  kill_timer_.start(
      [this] {
        if (pid_ > 0) {
          log_warn("app {} (id {}) did not exit within kill_timeout ({} ms): SIGKILL", app_->name,
                   id_, app_->spec.kill_timeout_ms);
          kill_all();  // the group, and all the cgroup holds
        }
      },
      app_->spec.kill_timeout_ms);
}

void Instance::on_exit(int wstatus) {
  pid_t old = pid_;
  host_.forget_pid(old);
  pid_ = 0;
  // Whatever the app left behind in its group (a crashed server's workers, a shell's
  // children) must not outlive it: they could hold its port.
  ::kill(-old, SIGKILL);
  // During a reload the replacement has written its own pid there: leave that one.
  if (auto text = read_file(pid_file_path()); text && *text == std::to_string(old)) {
    ::unlink(pid_file_path().c_str());
  }
  kill_timer_.stop();
  ready_timer_.stop();
  stop_health();
  watchdog_.stop();
  stop_ipc();
  bind_channel_.reset();
  // No process, no usage: do not show the last sample of the dead one until the next tick.
  cpu_percent_ = 0;
  rss_bytes_ = 0;
  cpu_time_ms_ = 0;

  last_exit_code_ = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
  last_signal_ = WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0;
  end_cgroup();  // what it left in its cgroup too (a setsid() child); an OOM kill is its reason
  std::uint64_t uptime = host_.loop().now() - started_mono_ms_;
  if (probation_) {
    // A reload's replacement that ends before it is ready is never restarted: the reload fails
    // and the old instance keeps serving.
    std::string why =
        stop_requested_ ? std::string("it was stopped before it was ready")
        : last_signal_ != 0
            ? fmt::format("it was killed by {} before it was ready", signal_name(last_signal_))
            : fmt::format("it exited with code {} before it was ready", last_exit_code_);
    stop_requested_ = false;
    status_text_ = why;
    set_status(InstanceStatus::kErrored);
    auto waiters = std::move(stop_waiters_);
    stop_waiters_.clear();
    end_probation(std::move(why));
    for (auto& w : waiters) w();
    return;
  }
  RestartDecision d =
      decide_restart(app_->spec, policy_, uptime, last_exit_code_, last_signal_, stop_requested_);
  report_exit(old, d);
  stop_requested_ = false;
  switch (d.kind) {
    case RestartDecision::Kind::kStop:
      set_status(InstanceStatus::kStopped);
      break;
    case RestartDecision::Kind::kErrored:
      status_text_ = d.reason;
      set_status(InstanceStatus::kErrored);
      log_error("app {} (id {}) errored: {}", app_->name, id_, d.reason);
      break;
    case RestartDecision::Kind::kRestart:
      schedule_restart(d.delay_ms);
      break;
  }
  auto waiters = std::move(stop_waiters_);
  stop_waiters_.clear();
  for (auto& w : waiters) w();
}

void Instance::schedule_restart(std::uint64_t delay_ms) {
  ++restarts_;
  set_status(InstanceStatus::kWaitingRestart);
  restart_timer_.start([this] { (void)start(); }, delay_ms);  // failures set the status
}

}  // namespace herd::manager
