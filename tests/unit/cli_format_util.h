// Shared by the CLI formatting tests: a jlist fixture at a fixed "now", and table checks.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli/render/format.h"
#include "cli/render/table.h"

namespace herd::cli {
namespace {

using nlohmann::json;

constexpr std::int64_t kNow = 1795850400000;  // 2026-11-28T07:20:00.000Z

// Two apps, three instances, as the daemon's jlist returns them (by pm_id, not by name):
// "api" in cluster mode (two online instances) and "worker" in fork mode, errored after a
// crash loop.
inline json fixture() {
  return json::parse(R"json([
  { "pid": 4101, "name": "api", "pm_id": 0,
    "monit": { "memory": 3280896, "cpu": 1.5 },
    "pm2_env": { "status": "online", "restart_time": 0, "unstable_restarts": 0,
                 "pm_uptime": 1795839300000, "created_at": 1795839300000,
                 "exec_mode": "cluster_mode", "instances": 2, "pm_id": 0, "name": "api",
                 "namespace": "default", "pm_exec_path": "/srv/api/server",
                 "pm_cwd": "/srv/api", "exec_interpreter": "none", "args": ["--port", "0"],
                 "pm_out_log_path": "/home/deploy/.herd/logs/api-out-0.log",
                 "pm_err_log_path": "/home/deploy/.herd/logs/api-error-0.log",
                 "pm_pid_path": "/home/deploy/.herd/pids/api-0.pid",
                 "listen": ["0.0.0.0:8080", "[::]:8080"], "status_text": "serving 12 conns",
                 "username": "deploy", "watch": false,
                 "env": { "PORT": "8080", "NODE_ENV": "production", "HERD_INSTANCE": "0" } } },
  { "pid": 0, "name": "worker", "pm_id": 2,
    "monit": { "memory": 0, "cpu": 0 },
    "pm2_env": { "status": "errored", "restart_time": 16, "unstable_restarts": 16,
                 "pm_uptime": 1795849000000, "created_at": 1795838000000,
                 "exec_mode": "fork_mode", "instances": 1, "pm_id": 2, "name": "worker",
                 "namespace": "jobs", "pm_exec_path": "/srv/jobs/worker.py",
                 "pm_cwd": "/srv/jobs", "exec_interpreter": "python3",
                 "args": ["--queue", "high priority"], "exit_code": 1,
                 "username": "deploy", "watch": true, "env": {} } },
  { "pid": 4102, "name": "api", "pm_id": 1,
    "monit": { "memory": 126248550, "cpu": 0 },
    "pm2_env": { "status": "online", "restart_time": 1, "unstable_restarts": 0,
                 "pm_uptime": 1795850355000, "created_at": 1795839300000,
                 "exec_mode": "cluster_mode", "instances": 2, "pm_id": 1, "name": "api",
                 "namespace": "default", "username": "deploy", "watch": false } }
])json");
}

inline std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// `s` without its CSI escape sequences: what a terminal shows, minus the colours.
inline std::string strip_csi(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\x1b' && i + 1 < s.size() && s[i + 1] == '[') {
      i += 2;
      while (i < s.size() && s[i] >= 0x20 && s[i] <= 0x3F) ++i;
      continue;  // Skips the final byte too.
    }
    out += s[i];
  }
  return out;
}

// Every line of a rendered table occupies the same number of terminal columns.
inline void expect_aligned(const std::string& table) {
  const auto lines = lines_of(table);
  ASSERT_FALSE(lines.empty());
  const std::size_t width = display_width(lines.front());
  for (const auto& line : lines) {
    if (line.starts_with("no app running")) continue;
    EXPECT_EQ(display_width(line), width) << "line: " << line;
  }
}

inline FormatOptions at_now(bool color = false) {
  FormatOptions o;
  o.color = color;
  o.now_ms = kNow;
  return o;
}

}  // namespace
}  // namespace herd::cli
