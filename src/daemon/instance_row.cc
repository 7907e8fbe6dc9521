// An instance as `herd ls` needs it: jlist's "rows" (docs/control-protocol.md). The members the
// table renders and sorts by, under the names and with the values Instance::to_json(kFull) gives
// them, so the CLI renders a row and a full process alike; nothing else is built. At 1,000
// instances the brief objects took the daemon about 20 ms to build and write and the CLI as much
// to parse; the rows are a tenth of the bytes, written as text: only the few members that come
// as JSON values (the settings shown, the account, the health check) go through a small tree.
//
// Keep in step with cli/render/format.cc's list_columns() and sort_key(): a member `ls` starts
// to read belongs here too (the e2e test comparing `ls` over rows and over the full list says
// when one is missing).
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string_view>

#include "app/app_settings.h"
#include "daemon/app.h"
#include "daemon/instance.h"

namespace herd::manager {
namespace {

std::string json_text(const nlohmann::json& v) {
  return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// A number as JSON: NaN and infinities are null, as nlohmann writes them.
std::string number_text(double v) { return std::isfinite(v) ? fmt::format("{}", v) : "null"; }

}  // namespace

std::string Instance::row_text() const {
  const AppSpec& spec = app_->spec;
  // As to_json: a process started since the sampler's last tick shows its memory, not 0b.
  std::uint64_t memory = rss_bytes_;
  if (memory == 0 && pid_ > 0) {
    if (auto s = sample_process(pid_)) memory = s->rss_bytes;
  }
  const std::string name = json_text(app_->name);
  std::string out;
  out.reserve(320);
  auto to = std::back_inserter(out);
  fmt::format_to(to, R"({{"monit":{{"cpu":{},"memory":{}}},"name":{},"pid":{},"pm_id":{},)",
                 number_text(cpu_percent_), memory, name, pid_, id_);
  const char* status = app_->waiting_for.empty() ? status_name(status_) : "waiting";
  fmt::format_to(to,
                 R"("pm2_env":{{"exec_mode":"{}","name":{},"pm_id":{},"pm_uptime":{},)"
                 R"("reloading":{},"restart_time":{},"status":{})",
                 app_->cluster() ? "cluster_mode" : "fork_mode", name, id_, started_at_ms_,
                 replacement_pid_ > 0, restarts_, json_text(status));
  // The status' marks (diagnostics). The cluster's load share is the app's: it is computed only
  // for a cluster-mode app.
  fmt::format_to(to, R"(,"diagnostics":{{"memory":{{"leak":{}}})", diagnostics_.leak(spec));
  if (app_->cluster()) fmt::format_to(to, R"(,"load":{{"imbalance":{}}})", load_share().imbalance);
  out += '}';
  // What comes as JSON values: the settings the table shows (as to_json reads them from the
  // settings table), the account, and a health check's verdict.
  nlohmann::json extra = nlohmann::json::object();
  static constexpr std::array<std::string_view, 3> kShown = {"namespace", "version", "watch"};
  for (const AppSetting& s : app_settings()) {
    const std::string_view key = s.display.pm2_env_key;
    if (!s.display.from_spec || std::find(kShown.begin(), kShown.end(), key) == kShown.end()) {
      continue;
    }
    nlohmann::json value = s.display.value ? s.display.value(spec) : s.get(spec);
    if (!value.is_null()) extra[key] = std::move(value);
  }
  if (spec.namespace_.empty()) extra["namespace"] = "default";
  report_identity(&extra);
  report_health(&extra);
  for (const auto& [key, value] : extra.items()) {
    fmt::format_to(to, ",{}:{}", json_text(key), json_text(value));
  }
  out += "}}";
  return out;
}

nlohmann::json Instance::row_json() const { return nlohmann::json::parse(row_text()); }

}  // namespace herd::manager
