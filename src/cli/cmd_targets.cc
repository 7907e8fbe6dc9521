// What a verb's target words mean on the client side, as PM2's CLI reads them (lib/API.js):
//  - an ecosystem file (or "-", one on stdin) stands for the apps it names: restart and reload
//    restart those that run with the file's environment read again (--env applied) and start
//    the others; stop, delete and reset act on those that run and skip the rest;
//  - a script path (`herd stop app.js`) is made absolute against the CLI's directory, as PM2's
//    path.resolve does, and the daemon matches it against each app's script;
//  - everything else (all, ids, names, namespaces, /regex/) goes to the daemon as it is.
#include "cli/cmd_targets.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <set>

#include "app/ecosystem.h"
#include "app/target_pattern.h"
#include "cli/serve_args.h"
#include "cli/start_args.h"

namespace herd::cli {
namespace {

using manager::Verb;
using nlohmann::json;

std::string working_dir() {
  std::error_code ec;
  return std::filesystem::current_path(ec).string();
}

bool is_plain_word(const std::string& t) {
  return t != "all" && !manager::is_target_regex(t) &&
         t.find_first_not_of("0123456789") != std::string::npos;
}

// A script path: has a '/' or names a file in this directory. (A name without '/' that is also
// a file here is taken as the file; apps are rarely named like a file beside them.)
std::string script_or_word(const std::string& t, const std::string& cwd) {
  if (!is_plain_word(t)) return t;
  struct stat st;
  bool path = t.find('/') != std::string::npos ||
              (::stat((cwd + "/" + t).c_str(), &st) == 0 && S_ISREG(st.st_mode));
  if (!path) return t;
  std::filesystem::path p = t[0] == '/' ? std::filesystem::path(t) : std::filesystem::path(cwd) / t;
  return p.lexically_normal().string();
}

// The names and namespaces the daemon manages now.
struct Managed {
  std::set<std::string> names, namespaces;
};

std::expected<Managed, manager::ErrorReply> managed(Cli& cli) {
  auto list = cli.client->call(Verb::kJlist, manager::ListRequest{.brief = true});
  if (!list) return std::unexpected(list.error());
  Managed m;
  for (const auto& p : *list) {
    m.names.insert(p.value("name", ""));
    m.namespaces.insert(p["pm2_env"].value("namespace", "default"));
  }
  return m;
}

// Restarts (or reloads) the running app `name` with the file's variables read again: PM2's
// _startJson passes the merged env with updateEnv set, so the shell's environment comes too.
int restart_with_file_env(Cli& cli, const TargetAction& act, const manager::AppSpec& app) {
  Client::CallResult r;
  if (act.verb == Verb::kReload) {
    manager::ReloadRequest req{{app.name}, current_env(), app.app_env, act.parallel};
    r = cli.client->call(Verb::kReload, req);
  } else {
    r = cli.client->call(Verb::kRestart,
                         manager::RestartRequest{{app.name}, current_env(), app.app_env});
  }
  return r ? 0 : fail_with(r.error());
}

}  // namespace

Result<manager::EcosystemResult> load_file(const std::string& word, const TargetAction& act) {
  manager::EcosystemOptions o;
  o.env_name = act.env_name;
  o.only = act.only;
  o.base_env = current_env();
  std::string cwd = working_dir();
  if (word == "-") {
    std::string text{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
    return manager::parse_ecosystem(text, manager::EcosystemFormat::kJson, "stdin", cwd, o);
  }
  return manager::load_ecosystem(word[0] == '/' ? word : cwd + "/" + word, o);
}

int report_started(const json& r) {
  int code = 0;
  for (const auto& w : r.value("warnings", json::array())) {
    std::fprintf(stderr, "herd: warning: %s\n", w.get<std::string>().c_str());
  }
  for (const auto& e : r["errors"]) {
    std::fprintf(stderr, "herd: %s\n", e.value("message", "").c_str());
    code = 1;
  }
  for (const auto& p : r["processes"]) {
    std::string status = p["pm2_env"].value("status", "");
    // A log that cannot be written loses output: PM2 refuses such a start (exit 1); herd has
    // started the app already, and says so with exit 1 too, so a deploy script notices.
    if (std::string log_error = p["pm2_env"].value("log_error", ""); !log_error.empty()) {
      std::fprintf(stderr, "herd: %s (id %d): %s\n", p.value("name", "").c_str(),
                   p.value("pm_id", -1), log_error.c_str());
      code = 1;
    }
    if (status == "errored") {
      std::fprintf(stderr, "herd: %s (id %d) errored: %s\n", p.value("name", "").c_str(),
                   p.value("pm_id", -1), p["pm2_env"].value("status_text", "").c_str());
      code = 1;
    } else if (p["pm2_env"].value("listen_timed_out", false)) {
      std::fprintf(stderr, "herd: warning: %s (id %d): %s\n", p.value("name", "").c_str(),
                   p.value("pm_id", -1), p["pm2_env"].value("status_text", "").c_str());
    }
  }
  return code;
}

int start_specs(Cli& cli, const std::vector<manager::AppSpec>& apps) {
  if (apps.empty()) return 0;
  manager::StartRequest start;
  for (const auto& a : apps) start.apps.push_back(manager::to_json(a));
  auto r = cli.client->call(Verb::kStart, start);
  if (!r) return fail_with(r.error());
  return report_started(*r);
}

int act_on_file_apps(Cli& cli, const TargetAction& act, const std::string& word,
                     std::vector<manager::AppSpec> apps) {
  for (auto& app : apps) {
    auto served = as_ecosystem_serve_app(app, own_binary());  // PM2's `script: "serve"`
    if (!served) return fail_with(served.error().context());
  }
  auto m = managed(cli);
  if (!m) return fail_with(m.error());
  std::vector<std::string> running;
  std::vector<manager::AppSpec> missing;
  int code = 0;
  for (auto& app : apps) {
    if (m->names.contains(app.name)) {
      if (act.verb == Verb::kRestart || act.verb == Verb::kReload || act.verb == Verb::kStart) {
        code = std::max(code, restart_with_file_env(cli, act, app));
      } else {
        running.push_back(app.name);
      }
    } else {
      missing.push_back(std::move(app));
    }
  }
  if (!running.empty()) {
    auto r = cli.client->call(act.verb, manager::TargetsRequest{running});
    if (!r) code = fail_with(r.error());
  }
  if (missing.empty()) return code;
  std::string names;
  for (const auto& a : missing) names += (names.empty() ? "" : ", ") + a.name;
  if (!act.start_missing) {
    // PM2 (actionFromJson) skips them silently; herd says so, and it is still a success.
    std::fprintf(stderr, "herd: %s: not managed, skipped: %s\n", word.c_str(), names.c_str());
    return code;
  }
  if (act.verb != Verb::kStart) {
    std::fprintf(stderr, "herd: %s: not running, starting: %s\n", word.c_str(), names.c_str());
  }
  return std::max(code, start_specs(cli, missing));
}

int act_on_targets(Cli& cli, const TargetAction& act) {
  if (act.targets.empty()) {
    return fail_with(
        fmt::format("{} needs a target: an id, a name, a namespace, a script, an "
                    "ecosystem file, a /regex/ or all",
                    manager::verb_name(act.verb)));
  }
  bool any_file = false;
  for (const auto& t : act.targets) any_file = any_file || is_ecosystem_target(t);
  if (!any_file && (!act.env_name.empty() || !act.only.empty())) {
    return fail_with(
        "--env and --only need an ecosystem file as the target (PM2: \"Using --env "
        "[env] without passing the ecosystem.config.js does not work\")");
  }
  std::string cwd = working_dir();
  std::vector<std::string> plain;
  int code = 0;
  for (const auto& t : act.targets) {
    if (!is_ecosystem_target(t)) {
      plain.push_back(script_or_word(t, cwd));
      continue;
    }
    auto eco = load_file(t, act);
    if (!eco) return fail_with(manager::input_error_message(eco.error()));
    for (const auto& w : eco->warnings) std::fprintf(stderr, "herd: warning: %s\n", w.c_str());
    code = std::max(code, act_on_file_apps(cli, act, t, std::move(eco->apps)));
  }
  if (!plain.empty()) {
    Client::CallResult r;
    if (act.verb == Verb::kRestart) {
      r = cli.client->call(act.verb, manager::RestartRequest{plain, act.update_env, {}});
    } else if (act.verb == Verb::kReload) {
      r = cli.client->call(act.verb,
                           manager::ReloadRequest{plain, act.update_env, {}, act.parallel});
    } else {
      r = cli.client->call(act.verb, manager::TargetsRequest{plain});
    }
    if (!r) return fail_with(r.error());
    if (act.verb == Verb::kReload) {
      for (const auto& w : (*r)["warnings"]) {
        std::fprintf(stderr, "herd: warning: %s\n", w.get<std::string>().c_str());
      }
      std::printf("reloaded %zu process(es) in %lld ms\n", (*r)["processes"].size(),
                  static_cast<long long>(r->value("duration_ms", 0)));
    }
  }
  int list = print_list(cli);
  return code != 0 ? code : list;
}

}  // namespace herd::cli
