#include "daemon/health/health_monitor.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "daemon/instance_host.h"
#include "herd/loop/event_loop.h"

namespace herd::manager {
namespace {

std::uint64_t wall_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

std::string duration_text(std::uint64_t ms) {
  if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  return fmt::format("{}ms", ms);
}

}  // namespace

const char* health_state_name(HealthMonitor::State s) {
  switch (s) {
    case HealthMonitor::State::kHealthy:
      return "healthy";
    case HealthMonitor::State::kUnhealthy:
      return "unhealthy";
    case HealthMonitor::State::kUnknown:
      break;
  }
  return "unknown";
}

HealthMonitor::HealthMonitor(InstanceHost& host, const HealthCheck& check, ProbeTarget target,
                             Events events)
    : host_(host),
      check_(check),
      target_(std::move(target)),
      events_(std::move(events)),
      timer_(host.loop()) {}

HealthMonitor::~HealthMonitor() = default;

void HealthMonitor::start() {
  running_ = true;
  started_ms_ = host_.loop().now();
  timer_.start([this] { probe_now(); }, check_.initial_delay_ms);
}

void HealthMonitor::stop() {
  running_ = false;
  timer_.stop();
  // A probe in flight: destroyed here (not inside its callbacks: stop() never runs from them
  // without the owner going through a deferred path), which cancels it.
  if (probe_ && probe_->busy()) probe_.reset();
}

void HealthMonitor::probe_now() {
  if (!running_) return;
  if (!probe_) probe_ = std::make_unique<Probe>(host_, check_);
  probe_started_ms_ = host_.loop().now();
  probe_->run(target_, [this](ProbeResult r) { on_result(std::move(r)); });
}

void HealthMonitor::on_result(ProbeResult r) {
  if (!running_) return;
  ++checks_;
  last_ok_ = r.ok;
  last_detail_ = r.detail;
  last_latency_us_ = r.latency_us;
  last_check_at_ = wall_ms();
  std::uint64_t now = host_.loop().now();
  if (r.ok) {
    consecutive_failures_ = 0;
    ++consecutive_successes_;
    if (state_ != State::kHealthy && consecutive_successes_ >= check_.successes) {
      ever_healthy_ = true;
      State before = state_;
      set_state(State::kHealthy);
      if (events_.passed) events_.passed();
      if (!running_) return;
      if (before == State::kUnhealthy && events_.changed) events_.changed(true);
      if (!running_) return;
    }
  } else {
    ++failed_checks_;
    consecutive_successes_ = 0;
    ++consecutive_failures_;
    last_failure_ = r.detail;
    std::string reason;
    if (!ever_healthy_) {
      std::uint64_t bound = check_.initial_delay_ms + check_.failures * check_.interval_ms;
      if (state_ != State::kUnhealthy && now - started_ms_ >= bound) {
        reason = fmt::format("{} check not passed within {} (last: {})",
                             health_kind_name(check_.kind), duration_text(bound), r.detail);
      }
    } else if (state_ != State::kUnhealthy && consecutive_failures_ >= check_.failures) {
      reason = fmt::format("{} check failed {} times (last: {})", health_kind_name(check_.kind),
                           consecutive_failures_, r.detail);
    }
    if (!reason.empty()) {
      set_state(State::kUnhealthy);
      if (events_.changed) events_.changed(false);
      if (!running_) return;
      if (events_.failed) events_.failed(reason);
      if (!running_) return;
    }
  }
  std::uint64_t every =
      ever_healthy_ ? check_.interval_ms : std::min(check_.interval_ms, kStartupIntervalMs);
  std::uint64_t spent = now - probe_started_ms_;
  timer_.start([this] { probe_now(); }, spent >= every ? 0 : every - spent);
}

void HealthMonitor::set_state(State s) { state_ = s; }

nlohmann::json HealthMonitor::to_json() const {
  nlohmann::json j = {
      {"status", health_state_name(state_)},
      {"kind", health_kind_name(check_.kind)},
      {"checks", checks_},
      {"failed_checks", failed_checks_},
      {"consecutive_failures", consecutive_failures_},
      {"consecutive_successes", consecutive_successes_},
      {"last_ok", last_ok_},
      {"last_result", last_detail_},
      {"last_failure", last_failure_},
      {"latency_ms", static_cast<double>(last_latency_us_) / 1000.0},
      {"last_check_at", last_check_at_},
  };
  if (check_.kind != HealthCheck::Kind::kExec) j["port"] = target_.port;
  return j;
}

}  // namespace herd::manager
