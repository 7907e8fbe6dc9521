// An instance's watchdog (watchdog.h) and the hooks of its events (hooks.h): what Instance does
// when its watchdog runs out, and which hook each step of its life fires.
//
// The watchdog is armed at every spawn (a full interval from start-up, as systemd arms it) and
// disarmed when the process exits or is being stopped. When it runs out, herd does what systemd
// does: SIGABRT (systemd's default WatchdogSignal) to the process group, then SIGCONT so that a
// stopped (SIGSTOP) process receives it, then SIGKILL after kill_timeout if anything is left.
// The exit that follows is an ordinary crash for the restart policy (counted in restart_time,
// `errored` after too many unstable restarts, autorestart respected), logged with the watchdog's
// reason in front of the policy's, and the reason stays in the status text of the next run.
#include <fmt/format.h>
#include <signal.h>

#include "daemon/app.h"
#include "daemon/instance.h"
#include "herd/base/log.h"

namespace herd::manager {

void Instance::count_manual_restart() {
  ++restarts_;
  restart_reason_ = "a restart was asked for (herd restart, or a cron, watch or memory trigger)";
}

void Instance::fire_hook(HookEvent event, HookDetails details) {
  if (!app_->spec.hooks.contains(std::string(hook_event_name(event)))) return;
  host_.run_hook(*this, event, details);
}

void Instance::arm_watchdog() {
  std::uint64_t ms = app_->spec.watchdog_ms;
  if (ms == 0 || pid_ <= 0) {
    watchdog_.stop();
    return;
  }
  watchdog_.start(ms, [this](std::string reason) { on_watchdog_expired(std::move(reason)); });
}

void Instance::on_watchdog_expired(std::string reason) {
  if (pid_ <= 0 || stop_requested_) return;
  log_warn("app {} (id {}) pid {}: {}: SIGABRT, SIGKILL after kill_timeout ({} ms)", app_->name,
           id_, pid_, reason, app_->spec.kill_timeout_ms);
  kill_reason_ = reason;
  status_text_ = std::move(reason);
  if (::kill(-pid_, SIGABRT) < 0) ::kill(pid_, SIGABRT);  // it may have left its group
  if (::kill(-pid_, SIGCONT) < 0) ::kill(pid_, SIGCONT);
  kill_timer_.start(
      [this] {
        if (pid_ <= 0) return;
        log_warn(
            "app {} (id {}) did not exit within kill_timeout ({} ms) of its watchdog's "
            "SIGABRT: SIGKILL",
            app_->name, id_, app_->spec.kill_timeout_ms);
        kill_all();
      },
      app_->spec.kill_timeout_ms);
}

void Instance::report_exit(pid_t old, RestartDecision& d) {
  std::string killed_for = std::move(kill_reason_);
  kill_reason_.clear();
  if (stop_requested_) return;  // asked for: not a crash
  if (!killed_for.empty()) d.reason = killed_for + "; " + d.reason;
  log_info("app {} (id {}): {}", app_->name, id_, d.reason);
  HookDetails details = hook_reason(d.reason);
  details.pid = old;
  details.signal = last_signal_;
  if (last_signal_ == 0) details.exit_code = last_exit_code_;
  fire_hook(HookEvent::kCrash, details);
  if (d.kind == RestartDecision::Kind::kErrored) fire_hook(HookEvent::kErrored, details);
  if (d.kind == RestartDecision::Kind::kRestart) {
    restart_reason_ = d.reason;
    // Why the last run ended, when herd ended it: `describe` shows it until the app says more.
    if (!killed_for.empty()) restart_note_ = "restarted after: " + killed_for;
  }
}

void Instance::report_spawn() {
  if (app_->spec.watchdog_ms > 0) {
    env_.push_back(fmt::format("WATCHDOG_PID={}", pid_));
    env_changed();
  }
  arm_watchdog();
  if (!restart_note_.empty()) {
    status_text_ = std::move(restart_note_);
    restart_note_.clear();
  }
  if (!restart_reason_.empty()) {
    std::string why = std::move(restart_reason_);
    restart_reason_.clear();
    fire_hook(HookEvent::kRestart, hook_reason(std::move(why)));
  }
}

}  // namespace herd::manager
