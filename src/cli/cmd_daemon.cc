// The commands about the daemon and its state, and about herd itself: flush, reloadLogs, save,
// cleardump, resurrect, ping, kill, update, daemon, startup, version, help.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "cli/commands.h"
#include "cli/start_args.h"
#include "cli/startup_cmd.h"
#include "cli/update_cmd.h"
#include "daemon/daemon.h"
#include "daemon/runtime.h"
#include "daemon/state_file.h"
#include "metrics/metrics_listener.h"
#include "protocol/version.h"

namespace herd::cli {
namespace {

constexpr const char* kRuntimeUsage =
    R"(usage: herd runtime [--json] [--no-auto-exit] [--metrics-port N] [--metrics-addr IP]
                    <ecosystem|script> [start options] [-- args]

Runs the apps under a daemon in the foreground of this process (a container's PID 1, a systemd
Type=notify unit): their output on stdout/stderr ("<id>|<app> | line", or one JSON object per line
with --json), SIGTERM/SIGINT/SIGHUP stop every app gracefully (twice: at once), READY=1 to
NOTIFY_SOCKET once every app is online, and it exits when no app is online any more (unless
--no-auto-exit). `herd ls` and the other verbs work against it from another shell.
)";

using manager::Verb;
using nlohmann::json;

void print_ping(const json& r, bool just_started) {
  std::printf("pong (daemon pid %d, herd %s%s)\n", r.value("pid", 0),
              r.value("version", "?").c_str(), just_started ? ", just started" : "");
  if (int updates = r.value("updates", 0); updates > 0) {
    std::printf("updated %d time(s) in place, now running %s\n", updates,
                r.value("binary", "").c_str());
  }
  // find(), not a const operator[]: an older daemon's answer may have no "metrics".
  if (auto m = r.find("metrics"); m != r.end() && m->is_object() && m->contains("address")) {
    std::printf("metrics on http://%s/metrics\n", m->value("address", "").c_str());
  } else if (m != r.end() && m->is_object() && m->contains("error")) {
    std::printf("no metrics listener: %s\n", m->value("error", "").c_str());
  }
  // Whether apps get cgroups (docs/resources.md), and why not.
  if (auto c = r.find("cgroups"); c != r.end() && c->is_object()) {
    if (c->value("enabled", false)) {
      std::string controllers, roots;
      for (const auto& x : c->value("controllers", json::array())) {
        controllers += (controllers.empty() ? "" : ", ") + x.get<std::string>();
      }
      for (const auto& x : c->value("root", json::array())) {
        roots += (roots.empty() ? "" : ", ") + x.get<std::string>();
      }
      std::printf("cgroups %s (%s) in %s\n", c->value("version", "?").c_str(), controllers.c_str(),
                  roots.c_str());
    } else {
      std::printf("cgroups off: %s\n", c->value("reason", "").c_str());
    }
  }
}

// --metrics-port N or --metrics-addr IP (or their --flag=value forms) at rest[*i], into `o`
// (moving *i past a separate value): nullopt when rest[*i] is neither flag, "" when it was
// taken, or the error message.
std::optional<std::string> take_metrics_flag(const Args& rest, std::size_t* i,
                                             manager::DaemonOptions* o) {
  const std::string& a = rest[*i];
  std::string flag = a.substr(0, a.find('='));
  if (flag != "--metrics-port" && flag != "--metrics-addr") return std::nullopt;
  std::string value;
  if (flag.size() < a.size()) {
    value = a.substr(flag.size() + 1);
  } else if (*i + 1 < rest.size()) {
    value = rest[++*i];
  } else {
    return fmt::format("{} takes a value", flag);
  }
  if (flag == "--metrics-addr") {
    auto addr = manager::parse_metrics_addr(value, flag);
    if (!addr) return addr.error().context();
    o->metrics_addr = *addr;
  } else {
    auto port = manager::parse_metrics_port(value, flag);
    if (!port) return port.error().context();
    o->metrics_port = *port;
  }
  return std::string();
}

}  // namespace

int cmd_flush(Cli& cli) {
  auto r = cli.client->call(Verb::kFlush, manager::TargetsRequest{cli.args});
  if (!r) return fail_with(r.error());
  for (const auto& p : (*r)["flushed"]) std::printf("flushed %s\n", p.get<std::string>().c_str());
  return 0;
}

// PM2's reloadLogs: the daemon reopens every app's log files and herd.log at their paths, for
// an outside rotation (logrotate's `create` mode: rename, then reloadLogs).
int cmd_reload_logs(Cli& cli) {
  auto r = cli.client->call(Verb::kReloadLogs);
  if (!r) return fail_with(r.error());
  std::printf("reopened %zu log file(s) and herd.log\n", (*r)["reopened"].size());
  return 0;
}

int cmd_save(Cli& cli) {
  const Args& rest = cli.args;
  bool force = rest.size() == 1 && (rest[0] == "--force" || rest[0] == "-f");
  if (!rest.empty() && !force) return fail_with("usage: herd save [--force]");
  auto r = cli.client->call(Verb::kSave, manager::SaveRequest{force});
  if (!r) return fail_with(r.error());
  std::printf("saved %d app(s) to %s\n", r->value("apps", 0), r->value("path", "").c_str());
  return 0;
}

// PM2's cleardump writes an empty list over the dump. herd writes its empty dump (which
// resurrect reads as "lists no app") the way save does, so the list it replaces stays in
// dump.json.bak. No daemon is needed: the file is the CLI's to write, as in PM2.
int cmd_cleardump(Cli& cli) {
  if (!cli.args.empty()) return fail_with("cleardump takes no arguments");
  if (Status s = cli.home.prepare(); !s) return fail_with(s.error().message());
  const std::string path = cli.home.dump();
  bool existed = ::access(path.c_str(), F_OK) == 0;
  std::string empty = json{{"version", 1}, {"apps", json::array()}}.dump(2) + "\n";
  if (Status s = manager::write_file_atomic(path, empty, true); !s) {
    return fail_with(s.error().message());
  }
  if (existed) {
    std::printf("emptied %s (what it listed is kept in %s.bak)\n", path.c_str(), path.c_str());
  } else {
    std::printf("wrote an empty %s\n", path.c_str());
  }
  return 0;
}

int cmd_resurrect(Cli& cli) {
  auto r = cli.client->call(Verb::kResurrect);
  if (!r) return fail_with(r.error());
  int code = 0;
  for (const auto& e : (*r)["errors"]) {
    std::fprintf(stderr, "herd: %s\n", e.get<std::string>().c_str());
    code = 1;
  }
  if ((*r)["processes"].empty() && code == 0) {
    std::printf("nothing to resurrect: every app of %s already runs\n",
                r->value("from", "").c_str());
    return 0;
  }
  std::printf("resurrected from %s\n", r->value("from", "").c_str());
  int list = print_list(cli);
  return code != 0 ? code : list;
}

int cmd_ping(Cli& cli) {
  auto r = cli.client->call(Verb::kPing);
  if (!r) return fail_with(r.error());
  print_ping(*r, cli.client->daemon_started());
  return 0;
}

// PM2 starts a daemon for ping, not for kill.
int cmd_kill(Cli& cli) {
  if (Status s = cli.client->connect(false); !s) {
    std::printf("herd: no daemon runs for %s\n", cli.home.dir.c_str());
    return 0;
  }
  auto r = cli.client->call(Verb::kKill);
  if (!r) return fail_with(r.error());
  // Every app is stopped when the answer comes; the daemon's process ends a moment later.
  if (!cli.client->close_and_wait_exit(std::chrono::seconds(10))) {
    std::fprintf(stderr, "herd: the daemon stopped every app but had not exited after 10 s\n");
  }
  std::printf("herd daemon stopped, with every app\n");
  return 0;
}

int cmd_update(Cli& cli) {
  auto r = request_update(*cli.client, cli.args);
  if (!r) return fail_with(r.error());
  std::printf("herd daemon updated: herd %s -> herd %s (%s), pid %d, %zu app process(es) kept\n",
              r->value("from_version", "?").c_str(), r->value("version", "?").c_str(),
              r->value("binary", "").c_str(), r->value("pid", 0),
              r->value("processes", json::array()).size());
  return print_list(cli);
}

int cmd_daemon(Cli& cli) {
  manager::DaemonOptions options;
  const Args& rest = cli.args;
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == "--foreground") {
      options.foreground = true;
      continue;
    } else if (rest[i] == "--takeover" && i + 1 < rest.size()) {
      // Internal: `herd update` execs the new binary with this (daemon/takeover.h).
      char* end = nullptr;
      long fd = std::strtol(rest[++i].c_str(), &end, 10);
      if (*end != '\0' || fd < 3 || fd > 1 << 20) return fail_with("--takeover takes a descriptor");
      options.takeover_fd = static_cast<int>(fd);
      continue;
    }
    auto taken = take_metrics_flag(rest, &i, &options);
    if (!taken) return fail_with(fmt::format("unknown option '{}' for daemon", rest[i]));
    if (!taken->empty()) return fail_with(*taken);
  }
  return manager::run_daemon(cli.home, options);
}

// herd runtime [--json] [--no-auto-exit] [--metrics-port N] [--metrics-addr IP]
//              <ecosystem|script> [start options]: the daemon in the foreground, as PID 1 of a
// container or a systemd Type=notify unit (daemon/runtime.h). Everything is checked before
// anything starts: a container must fail fast, not run half its apps.
int cmd_runtime(Cli& cli) {
  manager::RuntimeOptions options;
  Args start_args;
  const Args& rest = cli.args;
  bool after_dashes = false;
  for (std::size_t i = 0; i < rest.size(); ++i) {
    const std::string& a = rest[i];
    if (after_dashes || a == "--") {
      after_dashes = true;
      start_args.push_back(a);
      continue;
    }
    if (a == "-h" || a == "--help") {
      std::fputs(kRuntimeUsage, stdout);
      return 0;
    }
    if (a == "--json") {
      options.json_logs = true;
      continue;
    }
    if (a == "--no-auto-exit") {
      options.auto_exit = false;
      continue;
    }
    auto taken = take_metrics_flag(rest, &i, &options.daemon);
    if (!taken) {
      start_args.push_back(a);
    } else if (!taken->empty()) {
      return fail_with(*taken);
    }
  }
  if (start_args.empty() || start_args[0] == "--") {
    return fail_with(fmt::format("runtime needs an ecosystem file or a script\n{}", kRuntimeUsage));
  }
  char cwd[4096];
  if (::getcwd(cwd, sizeof(cwd)) == nullptr) return fail_with("cannot read the working directory");
  auto req = parse_start(start_args, current_env(), cwd, "runtime");
  if (!req) return fail_with(manager::input_error_message(req.error()));
  for (const auto& w : req->warnings) std::fprintf(stderr, "herd: warning: %s\n", w.c_str());
  if (req->apps.empty()) return fail_with("runtime: the ecosystem file has no app to run");
  std::fflush(stdout);
  return manager::run_runtime(cli.home, options, std::move(req->apps));
}

int cmd_startup(Cli& cli) { return startup_command(std::string(cli.name), cli.args); }

int cmd_version(Cli&) {
  std::printf("herd %s\n", kHerdVersion);
  return 0;
}

int cmd_help(Cli&) {
  std::fputs(usage_text().c_str(), stdout);
  return 0;
}

}  // namespace herd::cli
