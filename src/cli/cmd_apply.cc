#include "cli/cmd_apply.h"

#include <fmt/format.h>

#include <cstdio>
#include <map>

#include "app/setting_values.h"
#include "cli/cmd_targets.h"
#include "cli/serve_args.h"

namespace herd::cli {
namespace {

using manager::Verb;
using nlohmann::json;

// The word for a step that failed: "start" for "started".
std::string present(const std::string& action) {
  static const std::map<std::string, std::string> kVerbs = {
      {"started", "start"},  {"reloaded", "reload"},    {"restarted", "restart"},
      {"scaled", "scale"},   {"recreated", "recreate"}, {"deleted", "delete"},
      {"updated", "update"}, {"unchanged", "check"}};
  auto it = kVerbs.find(action);
  return it == kVerbs.end() ? action : it->second;
}

// "api: started (2 instances)", "web: reloaded (env.PORT, instances 2 -> 4)", "db: unchanged".
std::string step_line(const json& s) {
  std::string app = s.value("app", "");
  std::string action = s.value("action", "");
  if (s.contains("error")) {
    return fmt::format("{}: {} failed: {}", app, present(action), s["error"].get<std::string>());
  }
  if (s.contains("waiting")) {
    return fmt::format("{}: registered, {}", app, s["waiting"].get<std::string>());
  }
  std::vector<std::string> changes = s.value("changes", std::vector<std::string>{});
  if (action == "started" || action == "recreated") {
    int n = s.value("instances", 1);
    std::string what = fmt::format("{} instance{}", n, n == 1 ? "" : "s");
    if (action == "recreated") what = fmt::format("{}; {}", fmt::join(changes, ", "), what);
    return fmt::format("{}: {} ({})", app, action, what);
  }
  if (changes.empty()) return fmt::format("{}: {}", app, action);
  return fmt::format("{}: {} ({})", app, action, fmt::join(changes, ", "));
}

}  // namespace

int apply_file_apps(Cli& cli, const std::string& word, std::vector<manager::AppSpec> apps,
                    const ApplyArgs& args) {
  manager::ApplyRequest req;
  for (auto& app : apps) {
    auto served = as_ecosystem_serve_app(app, own_binary());  // PM2's `script: "serve"`
    if (!served) return fail_with(served.error().context());
    req.apps.push_back(manager::to_json(app));
  }
  req.prune = args.prune;
  req.unchanged = args.unchanged;
  req.parallel = args.parallel;
  auto r = cli.client->call(Verb::kApply, req);
  if (!r) return fail_with(fmt::format("{}: {}", word, r.error().message));
  int code = 0;
  std::map<std::string, int> counts;
  for (const auto& s : (*r)["steps"]) {
    std::printf("%s\n", step_line(s).c_str());
    if (s.contains("error")) {
      code = 1;
      ++counts["failed"];
    } else {
      ++counts[s.value("action", "")];
    }
  }
  std::size_t total = (*r)["steps"].size();
  if (counts["unchanged"] == static_cast<int>(total)) {
    std::printf("apply: nothing to change (%zu app%s unchanged)\n", total, total == 1 ? "" : "s");
    return code;
  }
  std::vector<std::string> parts;
  for (const char* a : {"failed", "started", "reloaded", "restarted", "updated", "scaled",
                        "recreated", "deleted", "unchanged"}) {
    if (counts[a] > 0) parts.push_back(fmt::format("{} {}", counts[a], a));
  }
  std::printf("apply: %s\n", fmt::format("{}", fmt::join(parts, ", ")).c_str());
  return code;
}

int cmd_apply(Cli& cli) {
  TargetAction act{.verb = Verb::kStart};
  ApplyArgs args;
  std::vector<std::string> files;
  const Args& a = cli.args;
  for (std::size_t i = 0; i < a.size(); ++i) {
    std::string flag = a[i].substr(0, a[i].find('='));
    if (flag == "--env" || flag == "--only") {
      std::string value;
      if (flag.size() < a[i].size()) {
        value = a[i].substr(flag.size() + 1);
      } else if (i + 1 < a.size()) {
        value = a[++i];
      } else {
        return fail_with(flag + " needs a value");
      }
      if (flag == "--env") {
        act.env_name = value;
      } else {
        act.only = manager::detail::split_commas(value);
      }
    } else if (a[i] == "--prune") {
      args.prune = true;
    } else if (a[i] == "-h" || a[i] == "--help") {
      std::fputs("usage: herd apply <ecosystem file> [--env NAME] [--only a,b] [--prune]\n",
                 stdout);
      return 0;
    } else if (!a[i].empty() && a[i][0] == '-' && a[i] != "-") {
      return fail_with(fmt::format("unknown option '{}' for apply", a[i]));
    } else {
      files.push_back(a[i]);
    }
  }
  if (files.size() != 1) {
    return fail_with("usage: herd apply <ecosystem file> [--env NAME] [--only a,b] [--prune]");
  }
  if (args.prune && !act.only.empty()) {
    return fail_with(
        "--prune deletes the apps the file does not name, so it needs the whole file: drop "
        "--only, or --prune");
  }
  auto eco = load_file(files[0], act);
  if (!eco) return fail_with(manager::input_error_message(eco.error()));
  for (const auto& w : eco->warnings) std::fprintf(stderr, "herd: warning: %s\n", w.c_str());
  return apply_file_apps(cli, files[0], std::move(eco->apps), args);
}

}  // namespace herd::cli
