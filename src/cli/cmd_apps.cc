// The commands that change processes: start, stop, restart, reset, delete, reload, scale,
// signal. Each shows the process table afterwards, as PM2 does (signal prints what it sent).
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "cli/commands.h"
#include "cli/start_args.h"

namespace herd::cli {
namespace {

using manager::Verb;
using nlohmann::json;

// Sends a verb whose result is a list of processes, then shows the table like PM2 does.
int targets_verb(Cli& cli, Verb verb, const manager::Request& request,
                 const std::vector<std::string>& targets) {
  if (targets.empty()) {
    return fail_with(fmt::format("{} needs a target: an id, a name, a /regex/ or all",
                                 manager::verb_name(verb)));
  }
  auto r = cli.client->call(verb, request);
  if (!r) return fail_with(r.error());
  return print_list(cli);
}

// Prints what `start` said beside the processes it started; 1 when one of them failed.
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

// --parallel's value: a number from 1 to 1024.
std::expected<int, std::string> parse_parallel(const std::string& value) {
  char* end = nullptr;
  long n = std::strtol(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || n < 1 || n > 1024) {
    return std::unexpected("--parallel takes a number from 1 to 1024, not '" + value + "'");
  }
  return static_cast<int>(n);
}

}  // namespace

int cmd_start(Cli& cli) {
  for (const auto& a : cli.args) {
    if (a == "--") break;
    if (a == "-h" || a == "--help") {
      std::fputs(start_usage(), stdout);
      return 0;
    }
  }
  char cwd[4096];
  if (::getcwd(cwd, sizeof(cwd)) == nullptr) return fail_with("cannot read the working directory");
  auto req = parse_start(cli.args, current_env(), cwd);
  if (!req) return fail_with(manager::input_error_message(req.error()));
  for (const auto& w : req->warnings) std::fprintf(stderr, "herd: warning: %s\n", w.c_str());
  manager::StartRequest start;
  for (const auto& a : req->apps) start.apps.push_back(manager::to_json(a));
  if (Status s = cli.client->connect(true); !s) return fail_with(client_error(s.error()));
  auto r = cli.client->call(Verb::kStart, start);
  if (!r) return fail_with(r.error());
  int code = report_started(*r);
  int list = print_list(cli);
  return code != 0 ? code : list;
}

// stop|restart|reset <target...>; --update-env counts for restart only.
int cmd_stop_restart_reset(Cli& cli) {
  manager::RestartRequest restart;
  for (const auto& a : cli.args) {
    if (a == "--update-env") {
      restart.update_env = current_env();
    } else {
      restart.targets.push_back(a);
    }
  }
  if (cli.name == "restart") return targets_verb(cli, Verb::kRestart, restart, restart.targets);
  Verb verb = cli.name == "stop" ? Verb::kStop : Verb::kReset;
  return targets_verb(cli, verb, manager::TargetsRequest{restart.targets}, restart.targets);
}

int cmd_delete(Cli& cli) {
  return targets_verb(cli, Verb::kDelete, manager::TargetsRequest{cli.args}, cli.args);
}

// reload <target...> [--update-env] [--parallel N]: rolling, shows why an app was restarted
// instead, and exits 1 with the daemon's reason when a replacement failed.
int cmd_reload(Cli& cli) {
  manager::ReloadRequest req;
  const Args& args = cli.args;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    std::string value;
    if (a == "--update-env") {
      req.update_env = current_env();
      continue;
    }
    if (a == "--parallel") {
      if (i + 1 >= args.size()) return fail_with("--parallel needs a number");
      value = args[++i];
    } else if (a.rfind("--parallel=", 0) == 0) {
      value = a.substr(11);
    } else if (!a.empty() && a[0] == '-') {
      return fail_with("unknown option '" + a + "' for reload (--update-env, --parallel N)");
    } else {
      req.targets.push_back(a);
      continue;
    }
    auto n = parse_parallel(value);
    if (!n) return fail_with(n.error());
    req.parallel = *n;
  }
  if (req.targets.empty()) {
    return fail_with("reload needs a target: an id, a name, a /regex/ or all");
  }
  auto r = cli.client->call(Verb::kReload, req);
  if (!r) return fail_with(r.error());
  for (const auto& w : (*r)["warnings"]) {
    std::fprintf(stderr, "herd: warning: %s\n", w.get<std::string>().c_str());
  }
  std::printf("reloaded %zu process(es) in %lld ms\n", (*r)["processes"].size(),
              static_cast<long long>(r->value("duration_ms", 0)));
  return print_list(cli);
}

int cmd_scale(Cli& cli) {
  if (cli.args.size() != 2) return fail_with("usage: herd scale <app> <N|+N|-N>");
  auto r = cli.client->call(Verb::kScale, manager::ScaleRequest{cli.args[0], cli.args[1]});
  if (!r) return fail_with(r.error());
  return print_list(cli);
}

int cmd_signal(Cli& cli) {
  const Args& rest = cli.args;
  if (rest.size() < 2) return fail_with("usage: herd signal <SIGNAL> <target...>");
  std::vector<std::string> targets(rest.begin() + 1, rest.end());
  auto r = cli.client->call(Verb::kSignal, manager::SignalRequest{rest[0], targets});
  if (!r) return fail_with(r.error());
  for (const auto& p : *r) {
    std::printf("sent %s to %s (id %d, pid %d)\n", rest[0].c_str(), p.value("name", "").c_str(),
                p.value("pm_id", -1), p.value("pid", 0));
  }
  return 0;
}

}  // namespace herd::cli
