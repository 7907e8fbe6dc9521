// What an instance reports: its CPU and memory samples, and its process object in jlist (PM2's
// shape, documented in docs/control-protocol.md).
#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "app/app_settings.h"
#include "app/command.h"
#include "daemon/app.h"
#include "daemon/instance.h"

namespace herd::manager {

void Instance::sample(std::uint64_t now_mono_ms) {
  if (pid_ <= 0) {
    cpu_percent_ = 0;
    rss_bytes_ = 0;
    cpu_time_ms_ = 0;
    return;
  }
  auto s = sample_process(pid_);
  if (!s) return;
  cpu_percent_ = cpu_.update(s->cpu_ms, now_mono_ms);
  rss_bytes_ = s->rss_bytes;
  cpu_time_ms_ = s->cpu_ms;
}

nlohmann::json Instance::env_json() const {
  nlohmann::json env = nlohmann::json::object();
  for (const auto& kv : env_) {
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return env;
}

std::string Instance::exec_path() const {
  if (!exec_path_.empty()) return exec_path_;
  auto cmd = resolve_command(app_->spec);
  return cmd ? cmd->exec_path : app_->spec.script;
}

nlohmann::json Instance::to_json() const {
  const AppSpec& spec = app_->spec;
  // A process started since the last tick of the sampler has no sample yet: read its memory now,
  // as PM2 does on every list, rather than show 0b. (CPU needs two samples; it shows 0 until
  // the next tick.)
  std::uint64_t memory = rss_bytes_;
  if (memory == 0 && pid_ > 0) {
    if (auto s = sample_process(pid_)) memory = s->rss_bytes;
  }
  nlohmann::json env = env_json();
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
      {"listen", listen},
      {"status_text", status_text_},
      {"log_error", log_error_},
      {"exit_code", last_exit_code_},
      {"exit_signal", last_signal_},
      {"env", env},
  };
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
  report_health(&pm2_env);
  if (app_->triggers) app_->triggers->describe(&pm2_env);
  // The WATCHDOG=1 pings received from the running process (watchdog.h).
  if (spec.watchdog_ms > 0) pm2_env["watchdog_pings"] = watchdog_.pings();
  // What the program measured of itself (docs/diagnostics.md), also in PM2's axm_monitor shape.
  if (!code_metrics_.empty()) {
    pm2_env["code_metrics"] = code_metrics_.to_json(host_.loop().now());
    pm2_env["axm_monitor"] = code_metrics_.to_axm_monitor();
  }
  return nlohmann::json{
      {"pid", pid_},
      {"name", app_->name},
      {"pm_id", id_},
      {"reloads", reloads_},
      {"monit", {{"memory", memory}, {"cpu", cpu_percent_}, {"cpu_time_ms", cpu_time_ms_}}},
      {"pm2_env", pm2_env}};
}

}  // namespace herd::manager
