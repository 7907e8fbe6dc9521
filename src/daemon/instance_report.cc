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

std::string Instance::to_text(Detail detail) const {
  if (detail == Detail::kRow) return row_text();
  std::string text =
      to_json(Detail::kBrief).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (detail == Detail::kBrief) return text;
  // The members before pm2_env (monit, name, pid) hold no object of that name: the first
  // `"pm2_env":{` is the member's own.
  constexpr std::string_view kOpen = R"("pm2_env":{)";
  std::size_t at = text.find(kOpen);
  if (at == std::string::npos) return text;
  at += kOpen.size();
  const std::string& env = env_text();
  std::string out;
  out.reserve(text.size() + env.size() + 8);
  out.append(text, 0, at);
  out += R"("env":)";
  out += env;
  out += ',';
  out.append(text, at, std::string::npos);
  return out;
}

std::string Instance::exec_path() const {
  if (!exec_path_.empty()) return exec_path_;
  auto cmd = resolve_command(app_->spec);
  return cmd ? cmd->exec_path : app_->spec.script;
}

nlohmann::json Instance::to_json(Detail detail) const {
  if (detail == Detail::kRow) return row_json();
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
  nlohmann::json pm2_env = {
      {"status", app_->waiting_for.empty() ? status_name(status_) : "waiting"},
      {"restart_time", restarts_},
      {"reloads", reloads_},
      {"reloading", replacement_pid_ > 0},
      {"replacement_pid", replacement_pid_},
      {"unstable_restarts", policy_.unstable_restarts},
      {"pm_uptime", started_at_ms_},
      {"created_at", created_at_ms_},
      {"exec_mode", app_->cluster() ? "cluster_mode" : "fork_mode"},
      {"inject", app_->injects()},
      {"listen_timed_out", listen_timed_out_},
      {"instances", app_->instances.size()},
      {"pm_id", id_},
      {"name", app_->name},
      {"exec_interpreter", interpreter_},
      {"NODE_APP_INSTANCE", index_},
      {"pm_out_log_path", out_log_path()},
      {"pm_err_log_path", err_log_path()},
      {"pm_pid_path", pid_file_path()},
      {"listen", std::move(listen)},
      {"status_text", status_text_},
      {"log_error", log_error_},
      {"exit_code", last_exit_code_},
      {"exit_signal", last_signal_},
  };
  if (detail == Detail::kFull) pm2_env["env"] = env_json();
  // PM2's pm_log_path: only with a combined log.
  if (std::string combined = combined_log_path(); !combined.empty()) {
    pm2_env["pm_log_path"] = combined;
  }
  // The settings jlist shows as the app has them (the table says which, and under what name);
  // the ones above are what is in effect (the addresses bound, the mode the app runs in).
  for (const AppSetting& s : app_settings()) {
    if (s.display.pm2_env_key.empty() || !s.display.from_spec) continue;
    nlohmann::json value = s.display.value ? s.display.value(spec) : s.get(spec);
    if (value.is_null()) continue;
    // Under PM2's own name too (node_args beside interpreter_args), which PM2 tools read.
    if (!s.display.pm2_name.empty()) pm2_env[s.display.pm2_name] = value;
    pm2_env[s.display.pm2_env_key] = std::move(value);
  }
  // What PM2's tools read: the script as resolved (a program found in PATH by its full path),
  // the namespace ("default" when none), node_args (PM2's name for interpreter_args), and no
  // versioning metadata (herd has no vizion).
  pm2_env["pm_exec_path"] = exec_path();
  if (spec.namespace_.empty()) pm2_env["namespace"] = "default";
  if (pm2_env.contains("interpreter_args")) pm2_env["node_args"] = pm2_env["interpreter_args"];
  pm2_env["vizion"] = false;
  report_identity(&pm2_env);
  // Why the last run ended when the kernel ended it ("oom"), and the cgroup it runs in.
  if (!exit_reason_.empty()) pm2_env["exit_reason"] = exit_reason_;
  if (!cgroup_.empty()) pm2_env["cgroup"] = cgroup_;
  report_health(&pm2_env);
  if (app_->triggers) app_->triggers->describe(&pm2_env);
  // The WATCHDOG=1 pings received from the running process (watchdog.h).
  if (spec.watchdog_ms > 0) pm2_env["watchdog_pings"] = watchdog_.pings();
  pm2_env["diagnostics"] = diagnostics_json();
  report_code_metrics(&pm2_env);
  return nlohmann::json{
      {"pid", pid_},
      {"name", app_->name},
      {"pm_id", id_},
      {"reloads", reloads_},
      {"monit", {{"memory", memory}, {"cpu", cpu_percent_}, {"cpu_time_ms", cpu_time_ms_}}},
      {"pm2_env", std::move(pm2_env)}};  // moved: a copy would be a second tree of ~80 members
}

}  // namespace herd::manager
