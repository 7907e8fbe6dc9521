#include "app/apply_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "app/app_settings.h"
#include "app/depends.h"

namespace herd::manager {

using nlohmann::json;

const char* apply_action_name(ApplyAction a) {
  switch (a) {
    case ApplyAction::kStart:
      return "started";
    case ApplyAction::kUnchanged:
      return "unchanged";
    case ApplyAction::kUpdate:
      return "updated";
    case ApplyAction::kScale:
      return "scaled";
    case ApplyAction::kReload:
      return "reloaded";
    case ApplyAction::kRestart:
      return "restarted";
    case ApplyAction::kRecreate:
      return "recreated";
    case ApplyAction::kDelete:
      return "deleted";
  }
  return "?";
}

std::vector<std::string> spec_changes(const AppSpec& running, const AppSpec& file) {
  json a = to_json(running);
  json b = to_json(file);
  std::vector<std::string> out;
  for (const auto& [key, value] : b.items()) {
    // env: the shell's environment plus the app's own (app_env, compared below); instances:
    // the count is compared by the caller, as "max" depends on the machine.
    if (key == "env" || key == "instances") continue;
    if (key == "app_env") {
      std::set<std::string> names;
      for (const auto& [k, v] : running.app_env) names.insert(k);
      for (const auto& [k, v] : file.app_env) names.insert(k);
      for (const auto& n : names) {
        auto x = running.app_env.find(n);
        auto y = file.app_env.find(n);
        if (x == running.app_env.end() || y == file.app_env.end() || x->second != y->second) {
          out.push_back("env." + n);
        }
      }
      continue;
    }
    if (!a.contains(key) || a[key] != value) out.push_back(key);
  }
  for (const auto& [key, value] : a.items()) {
    if (!b.contains(key) && key != "env" && key != "instances") out.push_back(key);
  }
  return out;
}

std::vector<ApplyStep> plan_apply(const std::vector<AppSpec>& file, const std::vector<int>& counts,
                                  const std::vector<RunningApp>& daemon, const ApplyOptions& o) {
  std::vector<ApplyStep> steps;
  auto find = [&](const std::string& name) -> const RunningApp* {
    for (const auto& r : daemon) {
      if (r.spec.name == name) return &r;
    }
    return nullptr;
  };
  for (std::size_t i : dependency_order(file)) {
    const AppSpec& spec = file[i];
    ApplyStep s;
    s.app = spec.name;
    s.to_instances = counts[i];
    s.spec = &spec;
    const RunningApp* now = find(spec.name);
    if (now == nullptr || !now->running) {
      bool same = now != nullptr && now->settled && spec_changes(now->spec, spec).empty();
      s.action = same ? ApplyAction::kUnchanged : ApplyAction::kStart;
      steps.push_back(std::move(s));
      continue;
    }
    s.from_instances = now->instances;
    s.changes = spec_changes(now->spec, spec);
    bool recreate = std::any_of(s.changes.begin(), s.changes.end(), [](const std::string& k) {
      return k == "listen" || k == "exec_mode" || k == "socket_mode" || k == "inject";
    });
    bool rescale = s.from_instances != s.to_instances;
    bool live = std::all_of(s.changes.begin(), s.changes.end(), [](const std::string& k) {
      const AppSetting* setting = find_setting(k);
      return setting != nullptr && !setting->restart_to_apply;
    });
    if (rescale)
      s.changes.push_back(fmt::format("instances {} -> {}", s.from_instances, counts[i]));
    if (recreate) {
      s.action = ApplyAction::kRecreate;
    } else if (o.unchanged != ApplyAction::kUnchanged) {
      // startOrRestart / startOrReload: the verb the person chose, for every running app.
      s.action = o.unchanged;
    } else if (s.changes.empty()) {
      s.action = ApplyAction::kUnchanged;
    } else if (live) {
      s.action = rescale ? ApplyAction::kScale : ApplyAction::kUpdate;
    } else {
      s.action = now->reloadable ? ApplyAction::kReload : ApplyAction::kRestart;
    }
    steps.push_back(std::move(s));
  }
  if (o.prune) {
    std::set<std::string> names, namespaces;
    for (const auto& a : file) {
      names.insert(a.name);
      namespaces.insert(a.namespace_);
    }
    for (const auto& r : daemon) {
      if (names.contains(r.spec.name) || !namespaces.contains(r.spec.namespace_)) continue;
      ApplyStep s;
      s.app = r.spec.name;
      s.action = ApplyAction::kDelete;
      s.from_instances = r.instances;
      steps.push_back(std::move(s));
    }
  }
  return steps;
}

}  // namespace herd::manager
