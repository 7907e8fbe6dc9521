// The CLI's human output: pure functions from the daemon's `jlist` JSON (PM2's shape, one
// element per instance, with herd's added fields such as pm2_env.listen and
// pm2_env.status_text) to the text `herd ls`, `herd describe` and `herd env` print. Nothing here
// reads the clock, the environment, the terminal or the password database: the caller passes what
// it knows in FormatOptions, so the same input always renders the same bytes (and tests compare
// golden strings).
//
// Every function accepts JSON that is partial or oddly typed (a missing field, a string where
// a number was expected) and prints "N/A" for what it cannot show, as PM2 does; none throws.
// Strings that come from apps are sanitized (see table.h) before they reach the terminal.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <utility>
#include <vector>

namespace herd::cli {

struct FormatOptions {
  // Colour with ANSI escapes, as PM2 does on a TTY. The caller passes isatty(1) (and may turn
  // it off for NO_COLOR). When false the output holds no escape sequence at all.
  bool color = false;
  // "Now", in milliseconds since the Unix epoch: uptimes are now_ms - pm2_env.pm_uptime.
  std::int64_t now_ms = 0;
  // The terminal's width in columns; 0 when unknown (not a TTY). When the full `ls` table is
  // wider than this, format_list drops the namespace, version, user and watching columns, as
  // PM2 condenses its table on a narrow terminal.
  int width = 0;
  // PM2's `--sort` value: "<field>[:asc|:desc]", field one of name, id, namespace, pid, cpu,
  // memory, uptime, status. Anything else sorts by name ascending, PM2's default. Ties keep
  // pm_id order.
  std::string sort = "name";
};

// `herd ls`: PM2's process table, one row per element of `jlist` (an array; anything else is
// treated as an empty list). Columns, in PM2's order: id, name, namespace, version, mode, pid,
// uptime, ↺, status, cpu, mem, user, watching. Uptime is shown only for online instances (0
// otherwise). An empty list renders the header and a line saying how to start an app. The
// result ends with '\n'.
std::string format_list(const nlohmann::json& jlist, const FormatOptions& o);

// `describe`'s rows about how herd watches an instance, as label and text: its health check
// (pm2_env.health_check and .health, and pm2_env.restart_reason), its watchdog pings, and the
// events it has hooks for; none of those it does not have; then diagnostic_rows. (format_health.cc)
std::vector<std::pair<std::string, std::string>> supervision_rows(const nlohmann::json& instance);

// The diagnostics (pm2_env.diagnostics, docs/diagnostics.md): the marks `ls` and `monit` put
// after an online status (" leak?", " imbalance", both, or ""), and describe's rows (memory
// growth, the leak verdict, the time to the memory limit; in cluster mode the connection and CPU
// shares and the imbalance verdict). Missing or oddly typed parts show nothing.
// (format_diagnostics.cc)
std::string diagnostic_marks(const nlohmann::json& instance);
std::vector<std::pair<std::string, std::string>> diagnostic_rows(const nlohmann::json& instance);

// `herd ls -m`: PM2's mini list, one block per jlist element: "+--- <name>", then "key : value"
// lines (namespace, version, pid, pm2 id, status, mode, restarted, uptime, memory usage, error
// log, watching, PID file) and an empty line. No colour, whatever `o.color` says; only
// `o.now_ms` is read. Anything but an array renders as "".
std::string format_mini_list(const nlohmann::json& jlist, const FormatOptions& o);

// `herd describe`: PM2's describe view of one jlist element: a title line, then a key/value
// table (status, name, namespace, version, restarts, uptime, script path, script args, error
// log path, out log path, pid path, interpreter, interpreter args, script id, exec cwd, exec
// mode, listen, status text, node env, watch & reload, unstable restarts, exit code, created
// at), then hints naming the `logs` and `env` verbs. The result ends with '\n'.
std::string format_describe(const nlohmann::json& instance, const FormatOptions& o);

// describe's second table, as PM2's: " Code metrics value" and the figures the program reports
// of itself (pm2_env.code_metrics: heap, event loop delay and utilisation, handles, GC, HTTP);
// "" when it reports none. (format_code_metrics.cc)
std::string format_code_metrics(const nlohmann::json& instance, bool color);
// The same figures on one line, for `herd monit` ("heap 12.2/17.9 MiB  loop p99 3.1 ms max
// 12.0 ms  elu 21%  handles 4  gc 1.2 ms"); "" when there are none.
std::string code_metrics_summary(const nlohmann::json& instance);

// `herd env <id>`: the instance's environment (pm2_env.env) as "KEY: value" lines sorted by
// key, each ending in '\n'. Non-string values print as JSON. Empty when there is none.
std::string format_env(const nlohmann::json& instance);

// An elapsed time as PM2 prints uptimes: seconds, then m, h, D (days), M (30-day months), Y
// (365-day years), each unit used once it counts at least 2, so 90 s reads "90s", 2 min
// "2m", 47 h "47h". Negative durations (clock skew) read "0s".
std::string format_uptime(std::int64_t elapsed_ms);

// A size as PM2 prints memory: "512b", then kb, mb, gb, tb (powers of 1024) with one decimal
// rounded half up: "3.1mb", "120.4mb", "1.2gb".
std::string format_memory(std::uint64_t bytes);

// A CPU percentage as PM2 prints it: rounded to one decimal, without a trailing ".0": "0%",
// "12.5%", "100%". NaN and negative values (not measured) read "N/A".
std::string format_cpu(double percent);

// A time in milliseconds since the Unix epoch as ISO 8601 in UTC with milliseconds, as
// JavaScript's Date.toISOString: "2026-11-28T12:00:23.946Z".
std::string format_iso8601(std::int64_t ms_since_epoch);

}  // namespace herd::cli
