// InstanceDiagnostics: what herd learns about one instance slot from outside, with no change to
// the app (docs/diagnostics.md): the trend of its memory (metrics/memory_trend.h) with a short
// history for monit's sparkline, and in cluster mode the connections it accepted on herd's
// sockets (cluster_mode/accept_counter.h) over the app's load window.
//
// Held by its Instance and fed by Instance::sample once a second. A new process (another pid)
// starts a new memory trend; the accept count is the slot's, across its runs.
//
// Threads: the daemon's loop thread only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "app/app_spec.h"
#include "daemon/cluster_mode/accept_counter.h"
#include "metrics/load_share.h"
#include "metrics/memory_trend.h"

namespace herd::manager {

// The memory an instance of `spec` may reach before herd acts: max_memory_restart, 0 for none.
// (A cgroup limit, max_memory, is the other candidate: the smaller non-zero of the two belongs
// here once the app has one.)
std::uint64_t memory_limit_bytes(const AppSpec& spec);

class InstanceDiagnostics {
 public:
  // Samples kept for monit's memory sparkline.
  static constexpr std::size_t kHistory = 30;

  // A sample of the running process `pid` (0: none runs) at `now_ms` (the loop's monotonic ms).
  void on_sample(pid_t pid, std::uint64_t now_ms, std::uint64_t rss_bytes, const AppSpec& spec);
  // The accept counter's descriptor for a spawn (created the first time); -1 when it cannot be
  // made (logged once; the instance then runs without one).
  int accept_fd(const std::string& app, int id);
  // `herd update` (takeover.h): the counter's descriptor to keep across exec (-1: none), and the
  // other side, in the new daemon (a descriptor that is not a counter is closed and logged).
  int takeover_accept_fd() const { return accepts_ ? accepts_->fd() : -1; }
  void adopt_accept_fd(int fd, const std::string& app, int id);

  // The connections accepted over the load window ending at the last sample, for
  // load_shares(): computed when sampled, so that a jlist of many instances stays cheap.
  InstanceLoad load(bool running, double cpu_percent) const;
  // jlist's pm2_env.diagnostics.memory.
  nlohmann::json memory_json(const AppSpec& spec, std::uint64_t rss_bytes) const;
  // memory_json()'s "leak" alone (for `ls`' rows).
  bool leak(const AppSpec& spec) const;
  // jlist's pm2_env.diagnostics.load, given this instance's share of its app.
  nlohmann::json load_json(const AppSpec& spec, const LoadShare& share) const;

 private:
  // The count at the last sample taken at or before `at_ms` (the oldest sample if none is).
  std::uint64_t count_at(std::uint64_t at_ms) const;
  InstanceLoad measure_load(std::uint64_t window_ms) const;

  pid_t pid_ = 0;
  MemoryTrend trend_;
  std::deque<std::uint64_t> history_;
  std::unique_ptr<AcceptCounter> accepts_;
  bool accepts_failed_ = false;
  struct Count {
    std::uint64_t at_ms;
    std::uint64_t accepted;
  };
  std::deque<Count> counts_;  // once a second, a little more than the load window
  InstanceLoad load_;         // at the last sample
};

}  // namespace herd::manager
