// describe's "Code metrics" table (format.h): what the program reports of itself
// (pm2_env.code_metrics, docs/diagnostics.md), as PM2's describe shows its code metrics.
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "cli/render/format.h"
#include "cli/render/table.h"

namespace herd::cli {
namespace {

using nlohmann::json;

std::optional<double> number(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

std::string mib(double bytes) { return fmt::format("{:.2f} MiB", bytes / (1024.0 * 1024.0)); }
std::string millis(double ms) { return fmt::format("{:.2f} ms", ms); }

const json* code_metrics_of(const json& instance) {
  if (!instance.is_object()) return nullptr;
  auto env = instance.find("pm2_env");
  if (env == instance.end() || !env->is_object()) return nullptr;
  auto it = env->find("code_metrics");
  if (it == env->end() || !it->is_object()) return nullptr;
  return &*it;
}

}  // namespace

std::string code_metrics_summary(const json& instance) {
  const json* found = code_metrics_of(instance);
  if (found == nullptr) return "";
  const json& m = *found;
  std::string out;
  auto used = number(m, "heap_used_bytes");
  auto total = number(m, "heap_total_bytes");
  if (used && total) {
    out += fmt::format("heap {:.1f}/{:.1f} MiB", *used / 1048576.0, *total / 1048576.0);
  }
  auto p99 = number(m, "loop_delay_p99_ms");
  auto max = number(m, "loop_delay_max_ms");
  if (p99 && max) out += fmt::format("  loop p99 {:.1f} ms max {:.1f} ms", *p99, *max);
  if (auto v = number(m, "loop_utilization")) out += fmt::format("  elu {:.0f}%", 100 * *v);
  if (auto v = number(m, "active_handles")) out += fmt::format("  handles {:.0f}", *v);
  if (auto v = number(m, "gc_pause_ms")) out += fmt::format("  gc {:.1f} ms", *v);
  if (auto v = number(m, "http_requests_total")) out += fmt::format("  http {:.0f} req", *v);
  if (auto v = number(m, "http_latency_p99_ms")) out += fmt::format(" p99 {:.1f} ms", *v);
  return out.starts_with("  ") ? out.substr(2) : out;
}

std::string format_code_metrics(const json& instance, bool color) {
  const json* found = code_metrics_of(instance);
  if (found == nullptr) return "";
  const json& m = *found;
  Table table;
  auto row = [&](const char* label, std::string value) {
    table.add_row({Cell(label, "1;36"), std::move(value)});
  };
  auto total = number(m, "heap_total_bytes");
  auto used = number(m, "heap_used_bytes");
  if (total) row("Heap Size", mib(*total));
  if (used) row("Used Heap Size", mib(*used));
  if (total && used && *total > 0) row("Heap Usage", fmt::format("{:.1f} %", 100 * *used / *total));
  if (auto v = number(m, "external_bytes")) row("External Memory", mib(*v));
  if (auto v = number(m, "loop_delay_mean_ms")) row("Event Loop Delay (mean)", millis(*v));
  auto p50 = number(m, "loop_delay_p50_ms");
  auto p99 = number(m, "loop_delay_p99_ms");
  auto max = number(m, "loop_delay_max_ms");
  if (p50 && p99 && max) {
    row("Event Loop Delay p50/p99/max",
        fmt::format("{} / {} / {}", millis(*p50), millis(*p99), millis(*max)));
  }
  if (auto v = number(m, "loop_utilization")) {
    row("Event Loop Utilization", fmt::format("{:.1f} %", 100 * *v));
  }
  if (auto v = number(m, "active_handles")) row("Active handles", fmt::format("{:.0f}", *v));
  if (auto v = number(m, "active_requests")) row("Active requests", fmt::format("{:.0f}", *v));
  if (auto v = number(m, "gc_pause_ms")) {
    row("GC Pause", fmt::format("{} (interval), {} total in {:.0f} GCs", millis(*v),
                                millis(number(m, "gc_pause_total_ms").value_or(0)),
                                number(m, "gc_count_total").value_or(0)));
  }
  if (auto v = number(m, "http_requests_total")) row("HTTP Requests", fmt::format("{:.0f}", *v));
  auto hmean = number(m, "http_latency_mean_ms");
  auto hp99 = number(m, "http_latency_p99_ms");
  auto hmax = number(m, "http_latency_max_ms");
  if (hmean && hp99 && hmax) {
    row("HTTP Latency mean/p99/max",
        fmt::format("{:.3f} ms / {:.3f} ms / {:.3f} ms", *hmean, *hp99, *hmax));
  }
  if (table.row_count() == 0) return "";
  if (auto v = number(m, "interval_ms")) row("Interval", millis(*v));
  if (auto v = number(m, "age_ms")) row("Reported", fmt::format("{:.1f} s ago", *v / 1000));
  std::string title = " Code metrics value";
  if (color) title = "\x1b[1m" + title + "\x1b[0m";
  return title + "\n" + table.render(color);
}

}  // namespace herd::cli
