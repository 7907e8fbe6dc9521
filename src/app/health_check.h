// HealthCheck: how herd probes each instance of an app (docs/health-checks.md).
//
// One check per app, the ecosystem key `health_check` (and `herd start --health-check`):
//   { "http": "/healthz" | "tcp": true | "exec": "command line",
//     "port": 3000, "host": "127.0.0.1", "interval": "5s", "timeout": "2s", "failures": 3,
//     "successes": 1, "initial_delay": "0s", "liveness": true, "readiness": true }
// HTTP: GET the path, a 2xx or 3xx status is healthy. TCP: a connect that succeeds is healthy.
// Exec: the command (run directly, not through a shell) exits 0.
// Liveness: `failures` failures in a row replace the instance as a crash would. Readiness: a new
// instance is online (and a reload's replacement takes over) only once it passed `successes`
// times in a row.
//
// The flag's compact form: "http=/healthz,port=3000,interval=1s" (keys as in the object; a bare
// "tcp" is tcp=true; "exec=..." must come last and takes the rest of the text, commas too).
//
// Pure functions; any thread.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "herd/base/error.h"

namespace herd::manager {

struct HealthCheck {
  enum class Kind { kNone, kHttp, kTcp, kExec };
  Kind kind = Kind::kNone;
  std::string path;     // kHttp: the request target ("/healthz")
  std::string command;  // kExec: a command line, split like a shell, executed directly
  // kHttp/kTcp: the port probed; 0 = the instance's PORT variable. In cluster mode every
  // instance is probed on port + its index (HERD_HEALTH_PORT in its environment).
  int port = 0;
  std::string host = "127.0.0.1";
  std::uint64_t interval_ms = 5000;
  std::uint64_t timeout_ms = 2000;
  int failures = 3;
  int successes = 1;
  std::uint64_t initial_delay_ms = 0;
  bool liveness = true;
  bool readiness = true;

  bool enabled() const { return kind != Kind::kNone; }
  friend bool operator==(const HealthCheck&, const HealthCheck&) = default;
};

// "http", "tcp", "exec", "none".
const char* health_kind_name(HealthCheck::Kind kind);

// The object form (every field), or null for no check.
nlohmann::json health_check_to_json(const HealthCheck& check);
// An object (keys above; durations as ms numbers or "1s"), a string in the compact form, or
// false/null for none. EINVAL naming the field and the value: "interval: expected a duration
// above 0, got 0", "give one of http, tcp or exec", "port: expected 1..65535, got 70000".
Result<HealthCheck> health_check_from_json(const nlohmann::json& v);
// The compact form of the flag ("http=/healthz,interval=1s"), or a JSON object's text.
Result<HealthCheck> parse_health_check(std::string_view text);
// One line for `describe`: "http GET :3000/healthz every 5s (timeout 2s, 3 failures)".
std::string health_check_summary(const HealthCheck& check);

}  // namespace herd::manager
