// HealthMonitor: the schedule and the counting of one instance's health check.
//
// After `initial_delay` it probes (Probe, one at a time). Until the instance first passes, it
// probes every min(interval, 250 ms), so a starting instance is online as soon as it answers;
// it fails when `initial_delay + failures x interval` passed without `successes` passes in a row
// ("not healthy within 3s (last: connect: Connection refused)"). From then on it probes every
// `interval` (from the start of one probe to the next, never two at once): `failures` failures
// in a row make it unhealthy, `successes` passes in a row healthy again.
//
// What it tells its owner (Events), always from a loop callback (never from start/stop):
//   passed()        it is healthy (the first time: readiness reached), from unknown or unhealthy
//   failed(reason)  it became unhealthy; `reason` says how ("liveness check failed 3 times
//                   (last: HTTP 500)"). The owner decides: a liveness restart, a reload aborted,
//                   or just "unready".
//   changed(ok)     healthy <-> unhealthy (and unknown -> unhealthy): the seam for hooks.
// The owner may destroy the monitor from inside these callbacks only through stop() first;
// Instance keeps it alive until its next start.
//
// Threads: the daemon's loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "app/health_check.h"
#include "daemon/health/probe.h"
#include "herd/loop/timer.h"

namespace herd::manager {

class InstanceHost;

class HealthMonitor {
 public:
  enum class State { kUnknown, kHealthy, kUnhealthy };
  struct Events {
    std::function<void()> passed;
    std::function<void(const std::string& reason)> failed;
    std::function<void(bool healthy)> changed;
  };
  // How often a never-yet-healthy instance is probed at most.
  static constexpr std::uint64_t kStartupIntervalMs = 250;

  HealthMonitor(InstanceHost& host, const HealthCheck& check, ProbeTarget target, Events events);
  ~HealthMonitor();
  HealthMonitor(const HealthMonitor&) = delete;
  HealthMonitor& operator=(const HealthMonitor&) = delete;

  void start();
  // No more probes or events; a probe in flight is cancelled.
  void stop();

  State state() const { return state_; }
  const HealthCheck& check() const { return check_; }
  int port() const { return target_.port; }
  // The last probe's latency in seconds (0 before the first).
  double last_latency_seconds() const { return static_cast<double>(last_latency_us_) / 1e6; }
  // jlist's pm2_env.health (docs/control-protocol.md).
  nlohmann::json to_json() const;

 private:
  void probe_now();
  void on_result(ProbeResult r);
  void set_state(State s);

  InstanceHost& host_;
  HealthCheck check_;
  ProbeTarget target_;
  Events events_;
  std::unique_ptr<Probe> probe_;
  Timer timer_;
  bool running_ = false;
  State state_ = State::kUnknown;
  bool ever_healthy_ = false;
  std::uint64_t started_ms_ = 0;  // loop time of start()
  std::uint64_t probe_started_ms_ = 0;
  int consecutive_failures_ = 0;
  int consecutive_successes_ = 0;
  std::uint64_t checks_ = 0;
  std::uint64_t failed_checks_ = 0;
  bool last_ok_ = false;
  std::string last_detail_;
  std::string last_failure_;
  std::uint64_t last_latency_us_ = 0;
  std::uint64_t last_check_at_ = 0;  // wall clock ms
};

const char* health_state_name(HealthMonitor::State s);

}  // namespace herd::manager
