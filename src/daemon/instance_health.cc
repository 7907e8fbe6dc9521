// An Instance's health check (app/health_check.h, daemon/health/health_monitor.h): the monitor
// started with each process, readiness gating launching, liveness replacing the process as a
// crash would, and the port each instance is probed on.
#include <fmt/format.h>
#include <signal.h>

#include <cstdlib>

#include "daemon/app.h"
#include "daemon/health/health_monitor.h"
#include "daemon/instance.h"
#include "herd/base/log.h"

namespace herd::manager {

bool Instance::health_gates_ready() const {
  const HealthCheck& c = app_->spec.health_check;
  return c.enabled() && c.readiness;
}

// In cluster mode every instance is probed on its own port, port + index: the app's own port is
// a socket herd holds for all of them, where a probe would reach whichever the kernel picks. A
// reload's replacement runs beside the instance it replaces, with the same index: it takes the
// slot's other port, port + kMaxInstances + index, and the next reload's replacement goes back.
Result<int> Instance::health_port(const std::map<std::string, std::string>* env) const {
  const HealthCheck& c = app_->spec.health_check;
  if (!c.enabled() || c.kind == HealthCheck::Kind::kExec) return 0;
  if (app_->cluster()) {
    if (c.port <= 0) {
      return fail(EINVAL,
                  "health_check: in cluster mode give health_check.port: the app's own port is "
                  "shared by every instance, so a probe there would reach any of them; each "
                  "instance is probed on port + its index, which it finds in HERD_HEALTH_PORT");
    }
    int port = c.port + index_ + (health_alt_port_ ? kMaxInstances : 0);
    if (port > 65535) {
      return fail(EINVAL,
                  fmt::format("health_check: port {} + instance {} is past 65535", c.port, index_));
    }
    for (const auto& a : app_->sockets.addresses()) {
      if (a.port() == port) {
        return fail(EINVAL,
                    fmt::format("health_check: port {} (instance {}) is a port herd holds for "
                                "the app in cluster mode, shared by every instance; give a port "
                                "of its own (each instance listens on HERD_HEALTH_PORT)",
                                port, index_));
      }
    }
    return port;
  }
  if (c.port > 0) return c.port;
  std::string text;
  if (env != nullptr) {
    if (auto it = env->find("PORT"); it != env->end()) text = it->second;
  } else {
    for (const auto& kv : env_) {
      if (kv.rfind("PORT=", 0) == 0) text = kv.substr(5);
    }
  }
  if (int port = std::atoi(text.c_str()); port > 0 && port <= 65535) return port;
  return fail(EINVAL,
              "health_check: no port to probe: give health_check.port, or PORT in the "
              "app's env");
}

void Instance::start_health() {
  health_passed_ = false;
  if (health_) health_->stop();
  health_.reset();
  const HealthCheck& c = app_->spec.health_check;
  if (!c.enabled() || pid_ <= 0) return;
  ProbeTarget t;
  t.port = health_port().value_or(0);
  t.env = env_;
  t.cwd = app_->spec.cwd;
  t.pid = pid_;
  HealthMonitor::Events ev;
  ev.passed = [this] { on_health_passed(); };
  ev.failed = [this](const std::string& reason) { on_health_failed(reason); };
  ev.changed = [this](bool healthy) {
    log_info("app {} (id {}): {}", app_->name, id_, healthy ? "healthy" : "unhealthy");
    // The app's `health` hook (hooks.h), with the last failure when it turned unhealthy.
    std::string why = healthy ? "healthy: its check passes" : "unhealthy";
    if (!healthy && health_) {
      const nlohmann::json h = health_->to_json();
      if (const auto f = h.find("last_failure"); f != h.end() && f->is_string()) {
        why += ": " + f->get<std::string>();
      }
    }
    fire_hook(HookEvent::kHealth, hook_reason(std::move(why)));
  };
  health_ = std::make_unique<HealthMonitor>(host_, c, std::move(t), std::move(ev));
  health_->start();
}

void Instance::stop_health() {
  if (health_) health_->stop();
}

void Instance::on_health_passed() {
  health_passed_ = true;
  if (status_ == InstanceStatus::kLaunching) on_ready();
}

void Instance::on_health_failed(const std::string& reason) {
  const HealthCheck& c = app_->spec.health_check;
  if (probation_) {
    // A reload's replacement that never becomes healthy must not take over.
    end_probation(reason);
    return;
  }
  if (c.liveness && pid_ > 0 && !stop_requested_ &&
      (status_ == InstanceStatus::kOnline || status_ == InstanceStatus::kLaunching)) {
    replace_unhealthy("liveness " + reason);
    return;
  }
  log_warn("app {} (id {}) pid {}: readiness {}; not ready", app_->name, id_, pid_, reason);
  status_text_ = "not ready: " + reason;
  // Whoever waits for it to start (start, scale) hears now; it stays launching, and becomes
  // online if the check passes later.
  settle();
}

// As a crash would: the stop signal to the group, SIGKILL after kill_timeout, and the exit goes
// through the restart policy (counted in restarts; errored after too many unstable runs).
void Instance::replace_unhealthy(const std::string& reason) {
  kill_reason_ = reason;
  last_restart_reason_ = reason;
  log_warn("app {} (id {}) pid {}: {}, restarting", app_->name, id_, pid_, reason);
  stop_health();
  ready_timer_.stop();
  send_stop();
}

void Instance::report_health(nlohmann::json* pm2_env) const {
  if (!last_restart_reason_.empty()) (*pm2_env)["restart_reason"] = last_restart_reason_;
  if (!app_->spec.health_check.enabled()) return;
  nlohmann::json h = health_
                         ? health_->to_json()
                         : nlohmann::json{{"status", "unknown"},
                                          {"kind", health_kind_name(app_->spec.health_check.kind)}};
  if (!health_ || pid_ <= 0) h["status"] = "unknown";
  h["summary"] = health_check_summary(app_->spec.health_check);
  (*pm2_env)["health"] = std::move(h);
}

const HealthMonitor* Instance::health() const { return pid_ > 0 ? health_.get() : nullptr; }

}  // namespace herd::manager
