// AppSpec: everything herd knows about how to run one app, with PM2's names and defaults.
//
// It comes from the command line (`herd start ./server -i 4 --listen :8080`) or from an
// ecosystem file (ecosystem.h), is stored in dump.json, and travels in the control protocol, so
// it converts to and from JSON losslessly (to_json / app_spec_from_json).
//
// Every function here is pure (no I/O) and may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/health_check.h"
#include "herd/base/error.h"

namespace herd::manager {

enum class ExecMode { kFork, kCluster };

struct AppSpec {
  std::string name;               // default: the script's base name without extension
  std::string script;             // a path, or a command line with spaces (run by /bin/sh)
  std::vector<std::string> args;  // after `--`, or "args" in the ecosystem file
  std::string interpreter;        // "" = by extension or shebang; "none" = exec directly
  std::vector<std::string> interpreter_args;
  std::string cwd;                         // default: the CLI's working directory
  std::map<std::string, std::string> env;  // frozen at start (PM2's rule), plus env_<name>
  // The variables the app's own description sets (ecosystem env + env_<name>, PORT from
  // `port`), already part of `env`. `--update-env` rebuilds `env` as the CLI's environment of
  // that moment with these on top (PM2's order). Empty for an app started from a command line.
  std::map<std::string, std::string> app_env;
  std::string namespace_ = "default";

  // instances: as written by the user ("max", "0", "-1", "4"); resolved_instances() applies it.
  // The parsers below store it normalized: "max" or a decimal integer without leading zeros.
  std::string instances = "1";
  ExecMode exec_mode = ExecMode::kFork;
  std::vector<std::string> listen;     // addresses herd binds for cluster mode ("0.0.0.0:8080")
  std::string socket_mode = "shared";  // "shared" or "reuseport" (one socket per instance slot)
  // Cluster mode for programs nobody changed (docs/cluster-mode.md): herd's bind library in
  // every instance (and its Node preload for node), so that the program's own bind() gets the
  // socket herd holds for the app. false (`--no-inject`) leaves the program alone: then only
  // `listen` addresses are shared, by LISTEN_FDS.
  bool inject = true;
  // The variable that carries the instance number (PM2's instance_var); HERD_INSTANCE is set too.
  std::string instance_var = "NODE_APP_INSTANCE";
  // PM2's increment_var: the variable of `env` that counts up by instance. Instance N gets its
  // value + N ("3000" -> 3000, 3001, ...; 0 + N when it is unset), see increment_var_value().
  // "" = none.
  std::string increment_var;

  // Restart policy (PM2's semantics).
  // false (PM2's --no-autostart): the app is registered, its instances `stopped`, until a
  // `herd start <name>` or `herd restart` starts them.
  bool autostart = true;
  // depends_on (app/depends.h): app name -> "started", "ready" or "completed". The daemon starts
  // the app's instances once every dependency meets its condition (docs/depends-on.md).
  std::map<std::string, std::string> depends_on;
  bool autorestart = true;
  int max_restarts = 16;               // unstable restarts before "errored"
  std::uint64_t min_uptime_ms = 1000;  // a run shorter than this is unstable
  std::uint64_t restart_delay_ms = 0;
  std::uint64_t exp_backoff_restart_delay_ms = 0;  // 0 = off; else the first delay (x1.5 each)
  std::vector<int> stop_exit_codes;                // exits with these codes are not restarted

  // Stopping and readiness.
  std::uint64_t kill_timeout_ms = 1600;
  std::string kill_signal = "SIGINT";  // the parsers store the canonical "SIGxxx" name
  // PM2's shutdown_with_message: a Node app (one with herd's IPC channel) is asked to stop with
  // the IPC message "shutdown" instead of kill_signal; SIGKILL still follows kill_timeout.
  bool shutdown_with_message = false;
  bool wait_ready = false;  // wait for READY=1 / process.send('ready')
  std::uint64_t listen_timeout_ms = 3000;
  // Probes of each instance: liveness and readiness (app/health_check.h); none by default.
  HealthCheck health_check;

  // Logs.
  bool time = false;            // ISO-8601 prefix on each line
  std::string log_date_format;  // PM2's: "<date>: " prefix in dayjs tokens; "" = none
  std::string log_type;         // "json": one JSON object per line (PM2's fields)
  std::string out_file;         // "" = HERD_HOME/logs/<name>-out[-<id>].log
  std::string error_file;
  // The combined log, optional; kDefaultLogFile (PM2's `log_file: true`, `-l` without a path)
  // is HERD_HOME/logs/<name>.log.
  std::string log_file;
  bool merge_logs = false;
  std::uint64_t log_max_size = 10 * 1024 * 1024;
  int log_max_files = 5;

  // Later issues (parsed and kept now so ecosystem files round-trip).
  std::uint64_t max_memory_restart = 0;  // bytes, 0 = off
  // A cron expression (cron.h); "" or "0" = none. The parsers refuse one that does not parse.
  std::string cron_restart;
  bool watch = false;
  // Used only when `watch` is true (empty = watch cwd); to_json then writes `watch` as this list,
  // so a spec with watch == false and paths set does not round-trip (the paths are dropped).
  std::vector<std::string> watch_paths;
  std::vector<std::string> ignore_watch;
  // PM2's --ext: only changes to files with these extensions ("js", "json"; no dot) restart.
  std::vector<std::string> watch_ext;
  // Restart once no watched file changed for this long (PM2's watch_delay; watch only).
  std::uint64_t watch_delay_ms = 1000;

  // The watchdog and hooks (docs/watchdog-and-hooks.md). watchdog_ms: 0 = off; else every
  // instance gets WATCHDOG_USEC and WATCHDOG_PID (systemd's WatchdogSec) and is killed and
  // restarted when no WATCHDOG=1 reaches the notify socket for that long.
  std::uint64_t watchdog_ms = 0;
  // Commands run by /bin/sh on events, by event name (app/hook_events.h); at most hook_timeout
  // each.
  std::map<std::string, std::string> hooks;
  std::uint64_t hook_timeout_ms = 30000;

  // Diagnostics (docs/diagnostics.md): the window of the memory trend and the growth rate over
  // which a steady growth is marked `leak?`; the window of the load shares in cluster mode.
  std::uint64_t memory_window_ms = 10 * 60 * 1000;
  std::uint64_t memory_leak_threshold = 10 * 1024;  // bytes per second
  std::uint64_t load_window_ms = 60 * 1000;

  // The account the app runs as (PM2's uid, alias user, and gid): a name or a number; "" = the
  // daemon's. Only a daemon running as root can switch (daemon/user.h resolves them).
  std::string user;
  std::string group;

  // Resources, enforced by the instance's cgroup (docs/resources.md); 0 = no limit. A hard
  // memory limit in bytes (the kernel's OOM killer acts), a CPU quota in thousandths of one CPU
  // ("50%" = 500, "1.5" CPUs = 1500), and the most processes and threads at once.
  std::uint64_t max_memory = 0;
  std::uint64_t cpu_quota = 0;
  std::uint64_t max_tasks = 0;

  // The number of instances to run on a machine with `cpus` CPUs: "max"/"0" = cpus,
  // "-N" = cpus - N (at least 1), "N" = N. A value validate_instances() rejects gives 1;
  // cpus < 1 counts as 1.
  int resolved_instances(int cpus) const;

  friend bool operator==(const AppSpec&, const AppSpec&) = default;
};

// AppSpec::log_file's value for "the combined log in its default place" (PM2's log_file: true).
// Paths the parsers store are absolute, so this one cannot be taken for a file.
inline constexpr std::string_view kDefaultLogFile = "true";

// The most instances one app may have: a typo such as `-i 10000` is refused, not forked.
inline constexpr int kMaxInstances = 1024;

// Accepts "max" and decimal integers from -kMaxInstances to kMaxInstances ("4", "0", "-1");
// EINVAL with a message for anything else. Given the machine's `cpus` (> 0), a negative "-N"
// must also leave an instance to run (N < cpus): "-100" is refused, not quietly run as 1.
Status validate_instances(const std::string& value, int cpus = 0);

// `herd scale`'s count: "N" (the new total), "+N" or "-N" (relative to `current`), decimal
// digits only. The result must be 1..kMaxInstances; EINVAL with a sentence otherwise (scaling
// to 0 would delete the app: `herd stop` and `herd delete` say that).
Result<int> scale_target(std::string_view count, int current);

// Parses sizes like "300M", "1G", "512K", "1048576" (bytes); units are binary (K = 1024) and
// case-insensitive, an optional trailing "B" is allowed ("10MB"). EINVAL otherwise (or on
// overflow).
Result<std::uint64_t> parse_size(const std::string& text);

// Parses durations in PM2's forms: "1000" (ms), "500ms", "1s", "1.5s", "2m", "1h".
// EINVAL for anything else, negative values and overflow.
Result<std::uint64_t> parse_duration_ms(const std::string& text);

// Parses a signal name ("SIGINT", "INT", "sigterm") or number ("15") into its number. EINVAL
// otherwise.
Result<int> parse_signal(const std::string& text);
// The canonical name of a signal number ("SIGINT"); "" when it has none.
std::string signal_name(int signo);

// Splits a command line the way a POSIX shell splits words: whitespace separates, '...' and "..."
// quote, backslash escapes (outside single quotes). No expansion of any kind. EINVAL on an
// unterminated quote or a trailing backslash.
Result<std::vector<std::string>> split_command_line(std::string_view text);

// The default app name for a script: its base name without extension ("./api/server.js" ->
// "server"); for a command line with spaces, the base name of its first word
// ("python3 -m http.server" -> "python3"). "app" when nothing is left; made a valid name by
// make_valid_app_name (app_name.h): "./5.js" -> "app-5".
std::string default_app_name(std::string_view script);

// The value of `spec.increment_var` for the instance with index `index`: the number in
// spec.env (decimal, an optional sign) plus `index`, or `index` when the variable is unset or
// empty (PM2 counts from 0 then). EINVAL naming the variable when its value is not a whole
// number; nullopt when the spec has no increment_var.
Result<std::optional<std::int64_t>> increment_var_value(const AppSpec& spec, int index);

// Sets one field from its JSON key (a setting's key, app_settings.h) and a value in any of PM2's
// forms: durations as numbers (ms) or strings ("1s"), sizes as numbers or "300M", instances as a
// number or "max", args as an array or a string (split like a shell), watch as a bool, a path or
// a list of paths, numbers where strings are expected, "true"/"false" strings for booleans.
// A null value leaves the field as it is. EINVAL "expected ..., got ..." (without the key) when
// the value does not fit; ENOENT when `key` is not a field of AppSpec (see is_app_field).
Status set_app_field(AppSpec* spec, std::string_view key, const nlohmann::json& value);
bool is_app_field(std::string_view key);
// The keys to_json always writes, in its order. set_app_field also takes the settings PM2
// writes only when given (increment_var): app_settings() lists them all.
const std::vector<std::string_view>& app_field_names();

// Every field, with PM2's key names; durations in ms, sizes in bytes, exec_mode "fork"/"cluster",
// instances a number (or "max"). A setting PM2 writes only when given is left out while it holds
// its default.
nlohmann::json to_json(const AppSpec& spec);
// The inverse of to_json, lenient in what it accepts (set_app_field's forms). Missing keys keep
// their defaults; keys that are not fields are ignored (the control protocol may carry more);
// a value that does not fit is EINVAL naming the key ("instances: expected ...").
Result<AppSpec> app_spec_from_json(const nlohmann::json& j);

// What to show a person for an error of the parsers here (and of the CLI's and ecosystem files'
// parsers built on them): a rejected value (EINVAL) carries a whole sentence in its context,
// which strerror's "Invalid argument" would only follow as noise; any other error (a script that
// is not found, a file that cannot be read) keeps its reason: Error::message().
std::string input_error_message(const Error& e);

}  // namespace herd::manager
