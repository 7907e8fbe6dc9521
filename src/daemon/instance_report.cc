// What an instance reports: its CPU and memory samples, and its process object in jlist (PM2's
// shape, documented in docs/control-protocol.md); and the Supervisor's verbs that report them.
#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "daemon/instance.h"
#include "daemon/supervisor.h"
#include "daemon/supervisor_internal.h"

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

nlohmann::json Instance::to_json() const {
  const AppSpec& spec = app_->spec;
  // A process started since the last tick of the sampler has no sample yet: read its memory now,
  // as PM2 does on every list, rather than show 0b. (CPU needs two samples; it shows 0 until
  // the next tick.)
  std::uint64_t memory = rss_bytes_;
  if (memory == 0 && pid_ > 0) {
    if (auto s = sample_process(pid_)) memory = s->rss_bytes;
  }
  nlohmann::json env = nlohmann::json::object();
  for (const auto& kv : env_) {
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  nlohmann::json listen = nlohmann::json::array();
  for (const auto& a : app_->sockets.addresses()) listen.push_back(a.to_string());
  nlohmann::json pm2_env = {
      {"status", status_name(status_)},
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
      {"namespace", spec.namespace_},
      {"pm_exec_path", spec.script},
      {"pm_cwd", spec.cwd},
      {"args", spec.args},
      {"exec_interpreter", interpreter_},
      {"interpreter_args", spec.interpreter_args},
      {"autorestart", spec.autorestart},
      {"NODE_APP_INSTANCE", index_},
      {"pm_out_log_path", out_log_path()},
      {"pm_err_log_path", err_log_path()},
      {"pm_pid_path", pid_file_path()},
      {"kill_timeout", spec.kill_timeout_ms},
      {"max_restarts", spec.max_restarts},
      {"min_uptime", spec.min_uptime_ms},
      {"wait_ready", spec.wait_ready},
      {"listen", listen},
      {"status_text", status_text_},
      {"exit_code", last_exit_code_},
      {"exit_signal", last_signal_},
      {"watch", spec.watch},
      {"env", env},
  };
  if (app_->triggers) app_->triggers->describe(&pm2_env);
  return nlohmann::json{
      {"pid", pid_},
      {"name", app_->name},
      {"pm_id", id_},
      {"reloads", reloads_},
      {"monit", {{"memory", memory}, {"cpu", cpu_percent_}, {"cpu_time_ms", cpu_time_ms_}}},
      {"pm2_env", pm2_env}};
}

// --- the Supervisor's reporting verbs: jlist, describe, env ---------------------------------

using detail::verb_error;
using nlohmann::json;

VerbResult Supervisor::list_result(const std::vector<Instance*>& list) const {
  json out = json::array();
  for (Instance* i : list) out.push_back(i->to_json());
  return out;
}

json Supervisor::jlist() const {
  std::vector<Instance*> all;
  for (const auto& a : apps_) {
    for (const auto& i : a->instances) all.push_back(i.get());
  }
  std::sort(all.begin(), all.end(), [](Instance* x, Instance* y) { return x->id() < y->id(); });
  return *list_result(all);
}

VerbResult Supervisor::describe(const std::vector<std::string>& targets) const {
  auto list = resolve(targets);
  if (!list) return std::unexpected(list.error());
  return list_result(*list);
}

VerbResult Supervisor::env_of(const std::string& target) const {
  auto list = resolve({target});
  if (!list) return std::unexpected(list.error());
  if (list->size() != 1) {
    return std::unexpected(verb_error(
        ErrorCode::kBadTarget,
        fmt::format("'{}' matches {} processes; env takes one id", target, list->size())));
  }
  return (*list)[0]->to_json()["pm2_env"]["env"];
}

}  // namespace herd::manager
