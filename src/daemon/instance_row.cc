// An instance as `herd ls` needs it: jlist's "rows" (docs/control-protocol.md). The members the
// table renders and sorts by, under the names and with the values Instance::to_json(kFull) gives
// them, so the CLI renders a row and a full process alike; nothing else is built. At 1,000
// instances the full objects took the daemon about 20 ms to build and write and the CLI as much
// to parse; the rows are a tenth of the bytes.
//
// Keep in step with cli/render/format.cc's list_columns() and sort_key(): a member `ls` starts
// to read belongs here too (the e2e test comparing `ls` over rows and over the full list says
// when one is missing).
#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>
#include <string_view>

#include "app/app_settings.h"
#include "daemon/app.h"
#include "daemon/instance.h"

namespace herd::manager {

nlohmann::json Instance::row_json() const {
  const AppSpec& spec = app_->spec;
  // As to_json: a process started since the sampler's last tick shows its memory, not 0b.
  std::uint64_t memory = rss_bytes_;
  if (memory == 0 && pid_ > 0) {
    if (auto s = sample_process(pid_)) memory = s->rss_bytes;
  }
  nlohmann::json pm2_env = {
      {"status", app_->waiting_for.empty() ? status_name(status_) : "waiting"},
      {"restart_time", restarts_},
      {"reloading", replacement_pid_ > 0},
      {"pm_uptime", started_at_ms_},
      {"exec_mode", app_->cluster() ? "cluster_mode" : "fork_mode"},
      {"pm_id", id_},
      {"name", app_->name},
  };
  // The settings the table shows, as to_json reads them from the settings table.
  static constexpr std::array<std::string_view, 3> kShown = {"namespace", "version", "watch"};
  for (const AppSetting& s : app_settings()) {
    const std::string_view key = s.display.pm2_env_key;
    if (!s.display.from_spec || std::find(kShown.begin(), kShown.end(), key) == kShown.end()) {
      continue;
    }
    nlohmann::json value = s.display.value ? s.display.value(spec) : s.get(spec);
    if (!value.is_null()) pm2_env[key] = std::move(value);
  }
  if (spec.namespace_.empty()) pm2_env["namespace"] = "default";
  report_identity(&pm2_env);
  // The status' qualifiers: a failing health check, and the diagnostics' marks.
  report_health(&pm2_env);
  nlohmann::json diagnostics = {{"memory", {{"leak", diagnostics_.leak(spec)}}}};
  if (app_->cluster()) diagnostics["load"] = {{"imbalance", load_share().imbalance}};
  pm2_env["diagnostics"] = std::move(diagnostics);
  return nlohmann::json{{"pid", pid_},
                        {"name", app_->name},
                        {"pm_id", id_},
                        {"monit", {{"memory", memory}, {"cpu", cpu_percent_}}},
                        {"pm2_env", std::move(pm2_env)}};
}

}  // namespace herd::manager
