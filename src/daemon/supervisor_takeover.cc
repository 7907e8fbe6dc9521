// The Supervisor across `herd update` (takeover.h): every app, its sockets and its running
// instances out of the old daemon and into the new one.
#include <fmt/format.h>

#include "daemon/supervisor.h"
#include "herd/base/log.h"

namespace herd::manager {

std::string Supervisor::takeover_busy() const {
  for (const auto& a : apps_) {
    if (!a->incoming.empty() || !a->retiring.empty()) {
      return fmt::format("app '{}' is being reloaded", a->name);
    }
    if (!a->waiting_for.empty()) return fmt::format("app '{}' is {}", a->name, a->waiting_for);
    for (const auto& i : a->instances) {
      switch (i->status()) {
        case InstanceStatus::kLaunching:
        case InstanceStatus::kStopping:
        case InstanceStatus::kWaitingRestart:
          return fmt::format("app '{}' (id {}) is {}", a->name, i->id(), status_name(i->status()));
        default:
          break;
      }
    }
  }
  return "";
}

nlohmann::json Supervisor::takeover_state(std::vector<int>* keep) const {
  nlohmann::json apps = nlohmann::json::array();
  for (const auto& a : apps_) {
    nlohmann::json instances = nlohmann::json::array();
    for (const auto& i : a->instances) instances.push_back(i->takeover_state(keep));
    apps.push_back({{"name", a->name},
                    {"spec", to_json(a->spec)},
                    {"sockets", a->sockets.takeover_state(keep)},
                    {"instances", instances}});
  }
  return {{"next_id", next_id_}, {"apps", apps}};
}

Status Supervisor::adopt_state(const nlohmann::json& state) {
  try {
    next_id_ = state.at("next_id").get<int>();
    for (const auto& a : state.at("apps")) {
      auto spec = app_spec_from_json(a.at("spec"));
      if (!spec) return std::unexpected(spec.error());
      auto app = std::make_unique<App>(a.at("name").get<std::string>(), std::move(*spec));
      auto sockets = ListenSet::adopt(a.at("sockets"));
      if (!sockets) return std::unexpected(sockets.error());
      app->sockets = std::move(*sockets);
      apps_.push_back(std::move(app));
      App& added = *apps_.back();
      for (const auto& s : a.at("instances")) {
        added.instances.push_back(std::make_unique<Instance>(
            as_host(), added, s.at("id").get<int>(), s.at("index").get<int>()));
        if (Status st = added.instances.back()->adopt(s); !st) return st;
      }
      added.triggers = make_triggers(added);
      (void)added.triggers->arm();  // a trigger that cannot be armed is logged (as at start)
    }
  } catch (const nlohmann::json::exception& e) {
    return fail(EINVAL, fmt::format("daemon state: {}", e.what()));
  }
  // Processes that ended while the daemons changed places: their SIGCHLD is pending for us.
  on_sigchld();
  return {};
}

}  // namespace herd::manager
