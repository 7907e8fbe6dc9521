// The daemon's process list as Prometheus metrics, in the text exposition format (version
// 0.0.4: https://prometheus.io/docs/instrumenting/exposition_formats/). One piece of code for
// both ways out: `herd metrics` prints it and the daemon's metrics listener serves it on
// GET /metrics.
//
// Families, each with # HELP and # TYPE, one sample per instance, labelled app="<name>" and
// id="<pm_id>" (not "instance": Prometheus attaches its own `instance` label to every scraped
// series, naming the target):
//   herd_process_cpu_seconds_total      counter  CPU time (user + system) of the running process
//   herd_process_resident_memory_bytes  gauge    its resident set size
//   herd_process_restarts_total         counter  restarts (pm2_env.restart_time)
//   herd_process_up                     gauge    1 when the instance is online, else 0
//   herd_process_uptime_seconds         gauge    seconds since this run started; 0 when no
//                                                process runs
//   herd_reloads_total                  counter  reloads of the instance ("reloads" in the
//                                                process object or its pm2_env; 0 without)
//   herd_process_healthy                gauge    1 when its health check passes, else 0
//   herd_health_check_duration_seconds  gauge    the last check's latency
//                                       (these two only for instances with a health check)
//   herd_process_memory_growth_bytes_per_second  gauge    the memory trend's slope (once known)
//   herd_process_memory_leak_suspected           gauge    1 with the `leak?` mark, else 0
//   herd_process_connection_share                gauge    0..1, its app's connections it took
//   herd_process_accepted_connections_total      counter  connections accepted on herd's sockets
//   herd_process_load_imbalance                  gauge    1 with the `imbalance` mark, else 0
//                                       (pm2_env.diagnostics, docs/diagnostics.md; the last three
//                                       only in cluster mode, each only when reported)
// CPU and memory are the daemon's once-a-second sample (jlist's monit.cpu_time_ms and
// monit.memory), so the numbers agree with `herd jlist` taken at the same moment. Counters of an
// instance start again from 0 when it is deleted and re-created, which Prometheus treats as a
// counter reset.
//
// A pure function: the caller passes "now"; nothing here reads the clock or the system.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

namespace herd::manager {

// The Content-Type of the text format, for HTTP responses.
inline constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

// The metrics of `jlist` (the daemon's jlist array, PM2's shape; anything else counts as an
// empty list, and fields that are missing or of the wrong type count as 0). `now_ms` is the wall
// clock in milliseconds since the epoch (uptimes are now_ms - pm2_env.pm_uptime). Every family's
// HELP and TYPE lines are present even without a process. The result ends with '\n'.
std::string prometheus_text(const nlohmann::json& jlist, std::int64_t now_ms);

// The families of the code metrics programs report (jlist's pm2_env.code_metrics, names in
// docs/diagnostics.md): herd_node_* (heap, event loop delay and utilisation, handles, GC) and
// herd_app_http_* (a libherd program's HTTP server); only families some instance has a sample of.
// prometheus_text() ends with them. (prometheus_code_metrics.cc)
std::string prometheus_code_metrics(const nlohmann::json& jlist);

// A label value escaped for the text format: backslash, double quote and newline become \\, \"
// and \n. Invalid UTF-8 bytes become U+FFFD (the format is UTF-8).
std::string prometheus_escape_label(std::string_view value);

}  // namespace herd::manager
