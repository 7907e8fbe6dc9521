// The code metrics families of prometheus_text (prometheus_text.h): the figures a program
// reports of itself (jlist's pm2_env.code_metrics, docs/diagnostics.md), one sample per
// instance that reports them, labelled as the other families. A family is written only when
// some instance has a sample.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "metrics/prometheus_text.h"

namespace herd::manager {
namespace {

using nlohmann::json;

struct CodeFamily {
  const char* name;
  const char* type;
  const char* field;  // in pm2_env.code_metrics
  double scale;       // the field's unit to the family's (ms to s: 0.001)
  const char* help;
};

constexpr CodeFamily kCodeFamilies[] = {
    {"herd_node_heap_size_bytes", "gauge", "heap_total_bytes", 1, "V8 heap size (heapTotal)."},
    {"herd_node_heap_used_bytes", "gauge", "heap_used_bytes", 1, "V8 heap used (heapUsed)."},
    {"herd_node_external_memory_bytes", "gauge", "external_bytes", 1,
     "Memory of C++ objects bound to JavaScript objects (external)."},
    {"herd_node_eventloop_delay_mean_seconds", "gauge", "loop_delay_mean_ms", 0.001,
     "Mean event loop delay over the last interval."},
    {"herd_node_eventloop_delay_p50_seconds", "gauge", "loop_delay_p50_ms", 0.001,
     "Median event loop delay over the last interval."},
    {"herd_node_eventloop_delay_p99_seconds", "gauge", "loop_delay_p99_ms", 0.001,
     "99th percentile of the event loop delay over the last interval."},
    {"herd_node_eventloop_delay_max_seconds", "gauge", "loop_delay_max_ms", 0.001,
     "Largest event loop delay over the last interval."},
    {"herd_node_eventloop_utilization_ratio", "gauge", "loop_utilization", 1,
     "Share of the last interval the event loop was busy (0 to 1)."},
    {"herd_node_active_handles", "gauge", "active_handles", 1, "Active libuv handles."},
    {"herd_node_active_requests", "gauge", "active_requests", 1, "Active libuv requests."},
    {"herd_node_gc_pause_seconds_total", "counter", "gc_pause_total_ms", 0.001,
     "Time spent in garbage collection pauses."},
    {"herd_node_gc_runs_total", "counter", "gc_count_total", 1, "Garbage collections."},
    {"herd_app_http_requests_total", "counter", "http_requests_total", 1,
     "Requests served by the program's libherd HTTP server."},
    {"herd_app_http_latency_mean_seconds", "gauge", "http_latency_mean_ms", 0.001,
     "Mean latency of the libherd HTTP server's requests over the last interval."},
    {"herd_app_http_latency_p99_seconds", "gauge", "http_latency_p99_ms", 0.001,
     "99th percentile latency of the libherd HTTP server's requests over the last interval."},
    {"herd_app_http_latency_max_seconds", "gauge", "http_latency_max_ms", 0.001,
     "Largest latency of the libherd HTTP server's requests over the last interval."},
};

const json* code_metrics_of(const json& p) {
  auto env = p.find("pm2_env");
  if (env == p.end() || !env->is_object()) return nullptr;
  auto m = env->find("code_metrics");
  return m != env->end() && m->is_object() ? &*m : nullptr;
}

}  // namespace

std::string prometheus_code_metrics(const json& jlist) {
  std::string out;
  if (!jlist.is_array()) return out;
  for (const CodeFamily& family : kCodeFamilies) {
    std::string samples;
    for (const auto& p : jlist) {
      if (!p.is_object()) continue;
      const json* m = code_metrics_of(p);
      if (m == nullptr) continue;
      auto v = m->find(family.field);
      if (v == m->end() || !v->is_number()) continue;
      auto name = p.find("name");
      auto id = p.find("pm_id");
      samples += fmt::format(
          "{}{{app=\"{}\",id=\"{}\"}} {}\n", family.name,
          prometheus_escape_label(name != p.end() && name->is_string() ? name->get<std::string>()
                                                                       : std::string()),
          id != p.end() && id->is_number_integer() ? std::to_string(id->get<std::int64_t>()) : "",
          v->get<double>() * family.scale);
    }
    if (samples.empty()) continue;
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", family.name, family.help, family.name,
                       family.type);
    out += samples;
  }
  return out;
}

}  // namespace herd::manager
