#include "app/depends.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "app/setting_values.h"

namespace herd::manager {

using nlohmann::json;

std::string_view depend_condition(std::string_view w) {
  if (w == "started" || w == "service_started" || w == "process_started") return kDependStarted;
  if (w == "ready" || w == "healthy" || w == "service_healthy" || w == "process_healthy") {
    return kDependReady;
  }
  if (w == "completed" || w == "completed_successfully" || w == "service_completed_successfully" ||
      w == "process_completed_successfully") {
    return kDependCompleted;
  }
  return {};
}

namespace {

Result<std::string> condition_of(const std::string& name, const json& v) {
  const json* c = &v;
  if (v.is_object()) {
    auto it = v.find("condition");
    if (it == v.end()) return std::string(kDependStarted);
    c = &*it;
  }
  if (!c->is_string()) {
    return fail(EINVAL,
                fmt::format("expected a condition for '{}' (started, ready or completed), got {}",
                            name, detail::describe_value(*c)));
  }
  std::string_view canon = depend_condition(c->get<std::string>());
  if (canon.empty()) {
    return fail(EINVAL,
                fmt::format("unknown condition '{}' for '{}' (expected started, ready/healthy or "
                            "completed/completed_successfully)",
                            c->get<std::string>(), name));
  }
  return std::string(canon);
}

Status add_name(std::map<std::string, std::string>& out, const json& n) {
  auto name = detail::as_string(n);
  if (!name || name->empty()) return detail::expected("an app name", n);
  out[*name] = std::string(kDependStarted);
  return {};
}

}  // namespace

Result<std::map<std::string, std::string>> parse_depends_on(const json& v) {
  std::map<std::string, std::string> out;
  if (v.is_null()) return out;
  if (v.is_string()) {
    if (Status s = add_name(out, v); !s) return std::unexpected(s.error());
    return out;
  }
  if (v.is_array()) {
    for (const auto& n : v) {
      if (Status s = add_name(out, n); !s) return std::unexpected(s.error());
    }
    return out;
  }
  if (v.is_object()) {
    for (const auto& [name, c] : v.items()) {
      if (name.empty()) return detail::expected("app names as keys", v);
      auto cond = condition_of(name, c);
      if (!cond) return std::unexpected(cond.error());
      out[name] = *cond;
    }
    return out;
  }
  return detail::expected("a list of app names or a map of app name to condition", v);
}

Status check_dependencies(const std::vector<AppSpec>& apps,
                          const std::function<bool(const std::string&)>& elsewhere) {
  std::map<std::string, const AppSpec*> by_name;
  for (const auto& a : apps) by_name[a.name] = &a;
  for (const auto& a : apps) {
    for (const auto& [dep, cond] : a.depends_on) {
      if (dep == a.name) {
        return fail(EINVAL, fmt::format("app '{}': depends_on names the app itself", a.name));
      }
      if (!by_name.contains(dep) && !(elsewhere && elsewhere(dep))) {
        return fail(
            EINVAL,
            fmt::format(
                "app '{}': depends_on names '{}', which is neither an app of the file nor an app "
                "herd runs",
                a.name, dep));
      }
    }
  }
  // Depth-first search over the file's apps; a back edge is a cycle, printed from where it
  // closes.
  std::map<std::string, int> state;  // 0 unseen, 1 on the path, 2 done
  std::vector<std::string> path;
  std::function<std::optional<std::string>(const std::string&)> visit =
      [&](const std::string& n) -> std::optional<std::string> {
    state[n] = 1;
    path.push_back(n);
    for (const auto& [dep, cond] : by_name[n]->depends_on) {
      if (!by_name.contains(dep)) continue;
      if (state[dep] == 1) {
        auto from = std::find(path.begin(), path.end(), dep);
        std::string text;
        for (auto it = from; it != path.end(); ++it) text += *it + " -> ";
        return text + dep;
      }
      if (state[dep] == 0) {
        if (auto c = visit(dep)) return c;
      }
    }
    path.pop_back();
    state[n] = 2;
    return std::nullopt;
  };
  for (const auto& a : apps) {
    if (state[a.name] != 0) continue;
    if (auto cycle = visit(a.name)) {
      return fail(EINVAL, "depends_on cycle: " + *cycle);
    }
  }
  return {};
}

std::vector<std::size_t> dependency_order(const std::vector<AppSpec>& apps) {
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < apps.size(); ++i) index.emplace(apps[i].name, i);
  std::vector<std::size_t> order;
  std::vector<bool> placed(apps.size(), false);
  for (bool progress = true; progress;) {
    progress = false;
    for (std::size_t i = 0; i < apps.size(); ++i) {
      if (placed[i]) continue;
      bool ready =
          std::all_of(apps[i].depends_on.begin(), apps[i].depends_on.end(), [&](const auto& d) {
            auto it = index.find(d.first);
            return it == index.end() || it->second == i || placed[it->second];
          });
      if (!ready) continue;
      placed[i] = true;
      order.push_back(i);
      progress = true;
      break;  // from the top again: the file's order wherever depends_on allows it
    }
  }
  for (std::size_t i = 0; i < apps.size(); ++i) {
    if (!placed[i]) order.push_back(i);
  }
  return order;
}

std::vector<AppSpec> in_dependency_order(std::vector<AppSpec> apps) {
  std::vector<AppSpec> out;
  out.reserve(apps.size());
  for (std::size_t i : dependency_order(apps)) out.push_back(std::move(apps[i]));
  return out;
}

}  // namespace herd::manager
