#include "daemon/code_metrics.h"

#include <fmt/format.h>

#include <cmath>

namespace herd::manager {
namespace {

constexpr double kBytes = 1e15;  // a petabyte: more than any process holds
constexpr double kMs = 1e12;     // ~30 years in milliseconds
constexpr double kCount = 1e12;

// The index of a field in fields(), by name; kFields for none.
std::size_t index_of(std::string_view name) {
  const auto& f = CodeMetrics::fields();
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (f[i].name == name) return i;
  }
  return f.size();
}

}  // namespace

const std::array<CodeMetrics::Field, CodeMetrics::kFields>& CodeMetrics::fields() {
  static const std::array<Field, kFields> kTable = {{
      // Node: V8's heap, memory outside it, the event loop, handles, GC.
      {"heap_total_bytes", kBytes},
      {"heap_used_bytes", kBytes},
      {"external_bytes", kBytes},
      {"array_buffers_bytes", kBytes},
      {"loop_delay_mean_ms", kMs},
      {"loop_delay_p50_ms", kMs},
      {"loop_delay_p99_ms", kMs},
      {"loop_delay_max_ms", kMs},
      {"loop_utilization", 1.0},
      {"active_handles", kCount},
      {"active_requests", kCount},
      {"gc_pause_ms", kMs},
      {"gc_pause_total_ms", kMs},
      {"gc_count_total", kCount},
      // libherd's HTTP server.
      {"http_requests_total", kCount},
      {"http_latency_mean_ms", kMs},
      {"http_latency_p99_ms", kMs},
      {"http_latency_max_ms", kMs},
      // Both: the interval the figures "over the interval" cover.
      {"interval_ms", kMs},
  }};
  return kTable;
}

bool CodeMetrics::update(const nlohmann::json& report, std::string_view source,
                         std::uint64_t now_ms) {
  if (!report.is_object()) {
    ++rejected_;
    return false;
  }
  std::array<std::optional<double>, kFields> values{};
  std::size_t known = 0;
  for (const auto& [key, value] : report.items()) {
    std::size_t i = index_of(key);
    if (i == kFields) continue;  // a field of a newer preload, or the envelope
    if (!value.is_number()) {
      ++rejected_;
      return false;
    }
    double v = value.get<double>();
    if (!std::isfinite(v) || v < 0 || v > fields()[i].max) {
      ++rejected_;
      return false;
    }
    values[i] = v;
    ++known;
  }
  if (known == 0) {
    ++rejected_;
    return false;
  }
  values_ = values;
  source_ = source;
  received_ms_ = now_ms == 0 ? 1 : now_ms;
  return true;
}

void CodeMetrics::clear() {
  values_ = {};
  received_ms_ = 0;
}

nlohmann::json CodeMetrics::to_json(std::uint64_t now_ms) const {
  if (empty()) return nullptr;
  nlohmann::json out = nlohmann::json::object();
  for (std::size_t i = 0; i < kFields; ++i) {
    if (!values_[i]) continue;
    double v = *values_[i];
    // Whole numbers as integers (bytes, counts), the rest with their fraction.
    if (v == std::floor(v) && v < 9e15) {
      out[std::string(fields()[i].name)] = static_cast<std::uint64_t>(v);
    } else {
      out[std::string(fields()[i].name)] = v;
    }
  }
  out["source"] = source_;
  out["age_ms"] = now_ms > received_ms_ ? now_ms - received_ms_ : 0;
  return out;
}

nlohmann::json CodeMetrics::to_axm_monitor() const {
  nlohmann::json out = nlohmann::json::object();
  if (empty()) return out;
  auto put = [&](std::string_view field, const char* label, double scale, const char* unit) {
    const auto& v = values_[index_of(field)];
    if (!v) return;
    out[label] = {{"value", fmt::format("{:.2f}", *v / scale)}, {"unit", unit}};
  };
  constexpr double kMiB = 1024.0 * 1024.0;
  put("heap_total_bytes", "Heap Size", kMiB, "MiB");
  put("heap_used_bytes", "Used Heap Size", kMiB, "MiB");
  put("external_bytes", "External Memory", kMiB, "MiB");
  put("loop_delay_mean_ms", "Event Loop Latency", 1, "ms");
  put("loop_delay_p99_ms", "Event Loop Latency p99", 1, "ms");
  put("active_handles", "Active handles", 1, "");
  put("active_requests", "Active requests", 1, "");
  put("http_latency_mean_ms", "HTTP Mean Latency", 1, "ms");
  return out;
}

}  // namespace herd::manager
