// What an instance reports: its CPU and memory samples (of its whole process tree: its cgroup,
// or its process group), its pid file, and its process object in jlist (PM2's shape,
// documented in docs/control-protocol.md).
#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <utility>

#include "app/app_settings.h"
#include "app/command.h"
#include "daemon/app.h"
#include "daemon/home.h"
#include "daemon/instance.h"
#include "daemon/state_file.h"
#include "herd/base/log.h"

namespace herd::manager {

void Instance::sample(std::uint64_t now_mono_ms, ProcessGroups* groups) {
  if (pid_ <= 0) {
    cpu_percent_ = 0;
    rss_bytes_ = 0;
    cpu_time_ms_ = 0;
    diagnostics_.on_sample(0, now_mono_ms, 0, app_->spec);
    return;
  }
  if (!sample_cgroup(now_mono_ms)) {
    // Without a cgroup: the process group the instance leads (spawn() makes one), which holds
    // its workers and their children unless they left it. The main process alone when it is not
    // in the scan (it exited just now) or no scan is given.
    std::optional<ProcSample> s = groups ? groups->group(pid_) : std::nullopt;
    if (!s) s = sample_process(pid_);
    if (!s) return;
    cpu_percent_ = cpu_.update(s->cpu_ms, now_mono_ms);
    rss_bytes_ = s->rss_bytes;
    cpu_time_ms_ = s->cpu_ms;
  }
  // The trend and load are of whatever was measured: the whole tree either way.
  diagnostics_.on_sample(pid_, now_mono_ms, rss_bytes_, app_->spec);
}

std::unordered_map<const Instance*, LoadShare> Instance::load_shares_of(const App& app) {
  // The shares are the app's: every instance's window, each one's part of it.
  std::vector<InstanceLoad> loads;
  loads.reserve(app.instances.size());
  for (const auto& i : app.instances) {
    loads.push_back(i->diagnostics_.load(i->is_running(), i->cpu_percent_));
  }
  std::vector<LoadShare> shares = load_shares(loads);
  std::unordered_map<const Instance*, LoadShare> out;
  for (std::size_t n = 0; n < app.instances.size() && n < shares.size(); ++n) {
    out.emplace(app.instances[n].get(), shares[n]);
  }
  return out;
}

LoadShare Instance::load_share() const {
  if (!app_->cluster()) return {};
  // (A reload's replacement, not yet among the app's instances, has no share.)
  if (!app_->listed_shares.empty()) {
    auto it = app_->listed_shares.find(this);
    return it == app_->listed_shares.end() ? LoadShare{} : it->second;
  }
  auto shares = load_shares_of(*app_);
  auto it = shares.find(this);
  return it == shares.end() ? LoadShare{} : it->second;
}

nlohmann::json Instance::diagnostics_json() const {
  nlohmann::json d = {{"memory", diagnostics_.memory_json(app_->spec, rss_bytes_)}};
  if (app_->cluster()) d["load"] = diagnostics_.load_json(app_->spec, load_share());
  return d;
}

std::string Instance::pid_file_path() const {
  return fmt::format("{}/{}-{}.pid", host_.home().pids_dir(), app_->name, id_);
}

void Instance::write_pid_file() const {
  if (pid_ <= 0) return;
  if (Status s = write_file_replace(pid_file_path(), std::to_string(pid_)); !s) {
    log_warn("app {} (id {}): {}", app_->name, id_, s.error().message());
  }
}

nlohmann::json Instance::env_json() const {
  nlohmann::json env = nlohmann::json::object();
  for (const auto& kv : env_) {
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return env;
}

const std::string& Instance::env_text() const {
  if (env_text_.empty()) {
    env_text_ = env_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return env_text_;
}

void Instance::append_text(Detail detail, std::string* out) const {
  if (detail == Detail::kRow) {
    *out += row_text();
    return;
  }
  Listed listed;
  list_members(detail, /*env_as_text=*/true, &listed);
  listed.top.append_text(out);
}

std::string Instance::exec_path() const {
  if (!exec_path_.empty()) return exec_path_;
  auto cmd = resolve_command(app_->spec);
  return cmd ? cmd->exec_path : app_->spec.script;
}

namespace {

// The settings jlist shows as the app has them (the settings table says which, and under what
// name).
void list_settings(const AppSpec& spec, JsonMembers* pm2_env) {
  for (const AppSetting& s : app_settings()) {
    if (s.display.pm2_env_key.empty() || !s.display.from_spec) continue;
    nlohmann::json value = s.display.value ? s.display.value(spec) : s.get(spec);
    if (value.is_null()) continue;
    // Under PM2's own name too (node_args beside interpreter_args), which PM2 tools read.
    if (!s.display.pm2_name.empty()) pm2_env->set(s.display.pm2_name, value);
    pm2_env->set(s.display.pm2_env_key, std::move(value));
  }
}

}  // namespace

nlohmann::json Instance::reported() const {
  nlohmann::json more = nlohmann::json::object();
  report_identity(&more);
  // Why the last run ended when the kernel ended it ("oom"), and the cgroup it runs in.
  if (!exit_reason_.empty()) more["exit_reason"] = exit_reason_;
  if (!cgroup_.empty()) more["cgroup"] = cgroup_;
  report_health(&more);
  if (app_->triggers) app_->triggers->describe(&more);
  // The WATCHDOG=1 pings received from the running process (watchdog.h).
  if (app_->spec.watchdog_ms > 0) more["watchdog_pings"] = watchdog_.pings();
  more["diagnostics"] = diagnostics_json();
  report_code_metrics(&more);
  return more;
}

nlohmann::json Instance::to_json(Detail detail) const {
  if (detail == Detail::kRow) return row_json();
  Listed listed;
  list_members(detail, /*env_as_text=*/false, &listed);
  return listed.top.take_json();
}

void Instance::list_members(Detail detail, bool env_as_text, Listed* listed) const {
  const AppSpec& spec = app_->spec;
  // A process started since the last tick of the sampler has no sample yet: read its memory now,
  // as PM2 does on every list, rather than show 0b. (CPU needs two samples; it shows 0 until
  // the next tick.)
  std::uint64_t memory = rss_bytes_;
  if (memory == 0 && pid_ > 0) {
    if (auto s = sample_process(pid_)) memory = s->rss_bytes;
  }
  nlohmann::json listen = nlohmann::json::array();
  for (const auto& a : app_->sockets.addresses()) listen.push_back(a.to_string());
  JsonMembers& pm2_env = listed->pm2_env;
  pm2_env.reserve(64);  // about 45 members, more with the optional settings
  pm2_env.set("status", app_->waiting_for.empty() ? status_name(status_) : "waiting");
  pm2_env.set("restart_time", restarts_);
  pm2_env.set("reloads", reloads_);
  pm2_env.set("reloading", replacement_pid_ > 0);
  pm2_env.set("replacement_pid", replacement_pid_);
  pm2_env.set("unstable_restarts", policy_.unstable_restarts);
  pm2_env.set("pm_uptime", started_at_ms_);
  pm2_env.set("created_at", created_at_ms_);
  pm2_env.set("exec_mode", app_->cluster() ? "cluster_mode" : "fork_mode");
  pm2_env.set("inject", app_->injects());
  pm2_env.set("listen_timed_out", listen_timed_out_);
  pm2_env.set("instances", app_->instances.size());
  pm2_env.set("pm_id", id_);
  pm2_env.set("name", app_->name);
  pm2_env.set("exec_interpreter", interpreter_);
  pm2_env.set("NODE_APP_INSTANCE", index_);
  pm2_env.set("pm_out_log_path", out_log_path());
  pm2_env.set("pm_err_log_path", err_log_path());
  pm2_env.set("pm_pid_path", pid_file_path());
  pm2_env.set("listen", std::move(listen));
  pm2_env.set("status_text", status_text_);
  pm2_env.set("log_error", log_error_);
  pm2_env.set("exit_code", last_exit_code_);
  pm2_env.set("exit_signal", last_signal_);
  // The environment: as kept since the spawn for text (its thousands of bytes are not built and
  // escaped again on every list).
  if (detail == Detail::kFull) {
    if (env_as_text) {
      pm2_env.set_text("env", env_text());
    } else {
      pm2_env.set("env", env_json());
    }
  }
  // PM2's pm_log_path: only with a combined log.
  if (std::string combined = combined_log_path(); !combined.empty()) {
    pm2_env.set("pm_log_path", std::move(combined));
  }
  // The settings jlist shows as the app has them; the ones above are what is in effect (the
  // addresses bound, the mode the app runs in).
  list_settings(spec, &pm2_env);
  // What PM2's tools read: the script as resolved (a program found in PATH by its full path),
  // the namespace ("default" when none), node_args (PM2's name for interpreter_args), and no
  // versioning metadata (herd has no vizion).
  pm2_env.set("pm_exec_path", exec_path());
  if (spec.namespace_.empty()) pm2_env.set("namespace", "default");
  if (const nlohmann::json* args = pm2_env.find("interpreter_args")) {
    pm2_env.set("node_args", *args);
  }
  pm2_env.set("vizion", false);
  // The rest comes from reporters that fill an object: set after all of the above.
  pm2_env.adopt(reported());

  listed->monit.set("memory", memory);
  listed->monit.set("cpu", cpu_percent_);
  listed->monit.set("cpu_time_ms", cpu_time_ms_);
  JsonMembers& top = listed->top;
  top.set("pid", pid_);
  top.set("name", app_->name);
  top.set("pm_id", id_);
  top.set("reloads", reloads_);
  top.set_object("monit", &listed->monit);
  top.set_object("pm2_env", &listed->pm2_env);
}

}  // namespace herd::manager
