// The Supervisor's targets: which instances a verb's words name ("all", an id, a name, a
// namespace, a script's absolute path, a /regex/), in PM2's order.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <regex>
#include <set>

#include "app/target_pattern.h"
#include "daemon/supervisor.h"
#include "daemon/supervisor_internal.h"

namespace herd::manager {

using detail::verb_error;

App* Supervisor::find_app(const std::string& name) const {
  for (const auto& a : apps_) {
    if (a->name == name) return a.get();
  }
  return nullptr;
}

std::expected<std::vector<Instance*>, VerbError> Supervisor::resolve(
    const std::vector<std::string>& targets) const {
  std::vector<Instance*> out;
  std::set<int> seen;
  auto add = [&](Instance* i) {
    if (seen.insert(i->id()).second) out.push_back(i);
  };
  if (targets.empty())
    return std::unexpected(verb_error(ErrorCode::kNoTarget,
                                      "name an app, an id, "
                                      "a /regex/ or all"));
  for (const auto& t : targets) {
    std::size_t before = out.size();
    bool matched = false;
    if (t == "all") {
      for (const auto& a : apps_) {
        for (const auto& i : a->instances) add(i.get());
      }
      if (apps_.empty()) {
        return std::unexpected(verb_error(ErrorCode::kUnknownTarget,
                                          "'all' matches nothing: no app "
                                          "is managed yet"));
      }
      continue;
    }
    if (is_target_regex(t)) {
      auto re = compile_target_regex(t);
      if (!re) return std::unexpected(verb_error(ErrorCode::kBadTarget, re.error().context()));
      for (const auto& a : apps_) {
        if (std::regex_search(a->name, *re)) {
          matched = true;
          for (const auto& i : a->instances) add(i.get());
        }
      }
    } else if (!t.empty() && std::all_of(t.begin(), t.end(), ::isdigit) &&
               !add_namespace_or_script(t, add)) {
      int id = std::atoi(t.c_str());
      for (const auto& a : apps_) {
        for (const auto& i : a->instances) {
          if (i->id() == id) {
            matched = true;
            add(i.get());
          }
        }
      }
    }
    if (!matched) {
      if (App* a = find_app(t); a != nullptr) {
        matched = true;
        for (const auto& i : a->instances) add(i.get());
      }
    }
    // PM2's order (API.js _operate): a name, else a namespace, else an id; an absolute path is
    // the script of the apps running it (the CLI makes `herd stop app.js` absolute, as PM2 does).
    if (!matched) matched = add_namespace_or_script(t, add);
    if (!matched && out.size() == before) {
      std::string known;
      for (const auto& a : apps_) known += (known.empty() ? "" : ", ") + a->name;
      return std::unexpected(
          verb_error(ErrorCode::kUnknownTarget,
                     fmt::format("no app or id matches '{}'{}", t,
                                 known.empty() ? std::string(" (no app is managed yet)")
                                               : fmt::format(" (apps: {})", known))));
    }
  }
  return out;
}

bool Supervisor::add_namespace_or_script(const std::string& t,
                                         const std::function<void(Instance*)>& add) const {
  bool matched = false;
  for (const auto& a : apps_) {
    bool in_namespace = a->spec.namespace_ == t || (a->spec.namespace_.empty() && t == "default");
    bool runs_script =
        t.starts_with('/') && std::any_of(a->instances.begin(), a->instances.end(),
                                          [&](const auto& i) { return i->exec_path() == t; });
    if (!in_namespace && !runs_script) continue;
    matched = true;
    for (const auto& i : a->instances) add(i.get());
  }
  return matched;
}

}  // namespace herd::manager
