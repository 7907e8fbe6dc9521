// depends_on in the daemon (docs/depends-on.md): an app whose dependencies do not meet their
// conditions yet is registered with its instances not started ("waiting", the reason as their
// status text), and started by a poll of the waiting apps once they do; stop verbs stop
// dependants before their dependencies.
//
// Threads: the daemon's loop thread only.
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "app/depends.h"
#include "daemon/supervisor.h"
#include "daemon/supervisor_internal.h"
#include "herd/base/log.h"

namespace herd::manager {
namespace {

using detail::countdown;

// How often the waiting apps look at their dependencies again.
constexpr std::uint64_t kDependsPollMs = 100;

// The seam with health checks: depends_on's "ready" ("healthy") condition for one instance.
// Online means ready (READY=1 with wait_ready, else alive past min_uptime); once readiness checks
// hold an instance in launching until it is healthy, this stays true to its name. Should online
// instances carry a separate health state, it is to be required here as well.
bool ready_for_dependants(const Instance& i) { return i.status() == InstanceStatus::kOnline; }

// Why `dep` does not meet `cond` yet, as "db (errored)"; "" when it does.
std::string unmet(const App& dep, const std::string& cond) {
  if (!dep.waiting_for.empty()) return fmt::format("{} (waiting)", dep.name);
  if (dep.instances.empty()) return fmt::format("{} (no instances)", dep.name);
  for (const auto& i : dep.instances) {
    InstanceStatus s = i->status();
    bool met = false;
    if (cond == kDependReady) {
      met = ready_for_dependants(*i);
    } else if (cond == kDependCompleted) {
      met = s == InstanceStatus::kStopped && i->created_at_ms() > 0 && !i->is_running() &&
            i->last_exit_code() == 0 && i->last_signal() == 0;
      if (!met && s == InstanceStatus::kStopped && i->created_at_ms() > 0) {
        return i->last_signal() != 0
                   ? fmt::format("{} (killed by signal {})", dep.name, i->last_signal())
                   : fmt::format("{} (exited with code {})", dep.name, i->last_exit_code());
      }
    } else {
      met = i->created_at_ms() > 0 && s != InstanceStatus::kErrored;
    }
    if (!met) {
      return fmt::format("{} ({})", dep.name,
                         s == InstanceStatus::kStopped && i->created_at_ms() == 0 ? "not started"
                                                                                  : status_name(s));
    }
  }
  return "";
}

}  // namespace

std::string Supervisor::unmet_dependency(const App& app) const {
  std::vector<std::string> waits;
  for (const auto& [name, cond] : app.spec.depends_on) {
    const App* dep = find_app(name);
    std::string why = dep == nullptr ? name + " (not running)" : unmet(*dep, cond);
    if (!why.empty()) waits.push_back(std::move(why));
  }
  if (waits.empty()) return "";
  return "waiting for " + fmt::format("{}", fmt::join(waits, ", "));
}

std::optional<VerbError> Supervisor::refuse_dependencies(const AppSpec& spec) const {
  for (const auto& [name, cond] : spec.depends_on) {
    if (name == spec.name) {
      return detail::verb_error(ErrorCode::kBadRequest,
                                fmt::format("app '{}': depends_on names the app itself", name));
    }
    if (find_app(name) == nullptr) {
      return detail::verb_error(
          ErrorCode::kBadRequest,
          fmt::format("app '{}': depends_on names '{}', which is neither an app of the file nor "
                      "an app herd runs",
                      spec.name, name));
    }
  }
  return std::nullopt;
}

void Supervisor::hold_for_dependencies(App& app, std::string why) {
  log_info("app '{}': {}", app.name, why);
  for (auto& i : app.instances) i->set_status_text(why);
  app.waiting_for = std::move(why);
  if (!depends_timer_active_) {
    depends_timer_active_ = true;
    depends_timer_.start([this] { check_waiting(); }, kDependsPollMs, kDependsPollMs);
  }
}

void Supervisor::check_waiting() {
  bool any = false;
  // Starting an app may let another start in the same pass; names, as starts may change apps_.
  std::vector<std::string> names;
  for (auto& a : apps_) {
    if (!a->waiting_for.empty()) names.push_back(a->name);
  }
  for (const auto& name : names) {
    App* app = find_app(name);
    if (app == nullptr || app->waiting_for.empty()) continue;
    std::string why = unmet_dependency(*app);
    if (!why.empty()) {
      if (why != app->waiting_for) {
        log_info("app '{}': {}", app->name, why);
        for (auto& i : app->instances) i->set_status_text(why);
        app->waiting_for = why;
      }
      any = true;
      continue;
    }
    log_info("app '{}': its dependencies are met, starting it", app->name);
    app->waiting_for.clear();
    for (auto& i : app->instances) {
      i->set_status_text("");
      if (!i->is_running()) (void)i->start();  // a failure sets its status to errored
    }
    arm_triggers_once(*app);
  }
  if (!any) {
    depends_timer_.stop();
    depends_timer_active_ = false;
  }
}

void Supervisor::stop_in_order(std::vector<Instance*> list, std::function<void()> done) {
  std::set<App*> apps = apps_of(list);
  // This wave: the apps no other app of the list depends on.
  std::set<App*> wave;
  for (App* a : apps) {
    bool needed = std::any_of(apps.begin(), apps.end(), [a](App* other) {
      return other != a && other->spec.depends_on.contains(a->name);
    });
    if (!needed) wave.insert(a);
  }
  if (wave.empty()) wave = apps;  // a cycle (specs changed after their start): all at once
  std::vector<Instance*> now;
  std::vector<int> later;
  for (Instance* i : list) {
    if (wave.contains(&i->app())) {
      // A stopped app no longer waits to start.
      i->app().waiting_for.clear();
      now.push_back(i);
    } else {
      later.push_back(i->id());
    }
  }
  if (later.empty()) return stop_instances(std::move(now), std::move(done));
  stop_instances(std::move(now), [this, later, done = std::move(done)] {
    std::vector<Instance*> rest;
    for (int id : later) {
      if (Instance* i = instance_by_id(id)) rest.push_back(i);
    }
    stop_in_order(std::move(rest), done);
  });
}

}  // namespace herd::manager
