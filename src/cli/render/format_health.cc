// describe's supervision rows (format.h): what the health check is, its verdict, the last result
// and its latency, failures in a row, the last failure, why the last liveness restart happened;
// the watchdog's pings; the events with a hook (docs/watchdog-and-hooks.md); the resource limits
// and why the kernel ended the last run (docs/resources.md).
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli/render/format.h"
#include "cli/render/table.h"

namespace herd::cli {
namespace {

using nlohmann::json;

std::string str(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return "";
  return sanitize(it->get<std::string>());
}

}  // namespace

std::vector<std::pair<std::string, std::string>> supervision_rows(const json& instance) {
  std::vector<std::pair<std::string, std::string>> rows;
  if (!instance.is_object()) return rows;
  auto env_it = instance.find("pm2_env");
  if (env_it == instance.end() || !env_it->is_object()) return rows;
  const json& env = *env_it;
  try {
    if (auto h = env.find("health"); h != env.end() && h->is_object()) {
      rows.emplace_back("health check", str(*h, "summary"));
      std::string verdict = str(*h, "status");
      rows.emplace_back("health", verdict.empty() ? "N/A" : verdict);
      std::string last = str(*h, "last_result");
      if (!last.empty()) {
        double ms = h->value("latency_ms", 0.0);
        rows.emplace_back("last check",
                          fmt::format("{} ({} in {:.1f} ms)",
                                      h->value("last_ok", false) ? "passed" : "failed", last, ms));
      }
      rows.emplace_back("failures in a row", std::to_string(h->value("consecutive_failures", 0)));
      std::string failure = str(*h, "last_failure");
      if (!failure.empty()) rows.emplace_back("last failure", failure);
    }
  } catch (const json::exception&) {
    // An oddly typed field (another daemon's jlist): what was read so far is shown.
  }
  std::string restart = str(env, "restart_reason");
  if (!restart.empty()) rows.emplace_back("last health restart", restart);
  if (auto w = env.find("watchdog_pings"); w != env.end() && w->is_number()) {
    if (auto ms = env.find("watchdog"); ms != env.end() && ms->is_number() && *ms != 0) {
      rows.emplace_back("watchdog pings", w->dump());
    }
  }
  if (auto m = env.find("max_memory"); m != env.end() && m->is_number_unsigned()) {
    rows.emplace_back("max memory", format_memory(m->get<std::uint64_t>()));
  }
  if (std::string quota = str(env, "cpu_quota"); !quota.empty()) {
    rows.emplace_back("cpu quota", quota);
  }
  if (auto t = env.find("max_tasks"); t != env.end() && t->is_number()) {
    rows.emplace_back("max tasks", t->dump());
  }
  // Why the last run ended when the kernel ended it.
  if (std::string reason = str(env, "exit_reason"); !reason.empty()) {
    rows.emplace_back("exit reason", reason);
  }
  if (auto hooks = env.find("hooks"); hooks != env.end() && hooks->is_object()) {
    std::string events;
    for (const auto& item : hooks->items()) events += (events.empty() ? "" : ", ") + item.key();
    rows.emplace_back("hooks", sanitize(events));
  }
  for (auto& row : diagnostic_rows(instance)) rows.push_back(std::move(row));
  return rows;
}

}  // namespace herd::cli
