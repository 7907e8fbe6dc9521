// herd: the command line. Every verb but `daemon` talks to the daemon over the control socket.
#include <fmt/format.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/client.h"
#include "cli/monit.h"
#include "cli/render/format.h"
#include "cli/start_args.h"
#include "cli/startup_cmd.h"
#include "cli/update_cmd.h"
#include "daemon/daemon.h"
#include "logs/log_tail.h"
#include "metrics/metrics_listener.h"
#include "metrics/prometheus_text.h"

extern char** environ;

namespace herd::cli {
namespace {

using nlohmann::json;

constexpr const char* kVersion = "0.1.0";

const char* kUsage = R"(herd — run any program on every core, with PM2's habits

usage: herd <verb> [arguments]

  start <script|"cmd"|ecosystem> [opts] [-- args]   start an app (herd start --help)
  stop|restart|reload|delete <target...>            target: id, name, /regex/ or all
  reload <target...> [--update-env] [--parallel N]  rolling, zero-downtime (cluster mode)
  scale <app> <N|+N|-N>                             run N instances
  list|ls|status   jlist   describe|show|info <target>   env <id>
  logs [target] [--lines N] [--nostream] [--raw] [--out|--err]
  flush [target...]   reset <target...>   sendSignal|signal <SIG> <target...>
  save|dump [--force]   resurrect   ping   kill   version
  update [--binary PATH]                            replace the daemon by this herd binary (or
                                                    PATH), keeping every app running
  monit                                             live view of every process and its log
  metrics                                           Prometheus text of every process
  daemon [--foreground] [--metrics-port N]          run the daemon (the first verb starts one)
  startup [systemd] [-u USER] [--hp DIR] [--write]   unstartup [systemd] [-u USER]

HERD_HOME (default ~/.herd) holds the daemon's socket, logs and saved process list.
)";

struct Context {
  manager::Home home;
  bool color = false;
  int width = 0;
};

int fail_with(const std::string& message, int code = 1) {
  std::fprintf(stderr, "herd: %s\n", message.c_str());
  return code;
}

int fail_with(const Error& e) {
  DaemonError d = daemon_error(e);
  return fail_with(d.message);
}

std::map<std::string, std::string> current_env() {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (eq != nullptr) env[std::string(*e, static_cast<std::size_t>(eq - *e))] = eq + 1;
  }
  return env;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

FormatOptions format_options(const Context& ctx) {
  FormatOptions o;
  o.color = ctx.color;
  o.now_ms = now_ms();
  o.width = ctx.width;
  return o;
}

int print_list(Client& client, const Context& ctx) {
  auto list = client.call({{"verb", "jlist"}});
  if (!list) return fail_with(list.error());
  std::fputs(format_list(*list, format_options(ctx)).c_str(), stdout);
  return 0;
}

// Sends a verb whose result is a list of processes, then shows the table like PM2 does.
int targets_verb(Client& client, const Context& ctx, const std::string& verb,
                 const std::vector<std::string>& targets, json extra = json::object()) {
  if (targets.empty()) {
    return fail_with(fmt::format("{} needs a target: an id, a name, a /regex/ or all", verb));
  }
  json req = extra;
  req["verb"] = verb;
  req["targets"] = targets;
  auto r = client.call(req);
  if (!r) return fail_with(r.error());
  return print_list(client, ctx);
}

int cmd_start(Client& client, const Context& ctx, const std::vector<std::string>& args) {
  for (const auto& a : args) {
    if (a == "--") break;
    if (a == "-h" || a == "--help") {
      std::fputs(start_usage(), stdout);
      return 0;
    }
  }
  char cwd[4096];
  if (::getcwd(cwd, sizeof(cwd)) == nullptr) return fail_with("cannot read the working directory");
  auto req = parse_start(args, current_env(), cwd);
  if (!req) return fail_with(manager::input_error_message(req.error()));
  for (const auto& w : req->warnings) std::fprintf(stderr, "herd: warning: %s\n", w.c_str());
  json apps = json::array();
  for (const auto& a : req->apps) apps.push_back(manager::to_json(a));
  if (Status s = client.connect(true); !s) return fail_with(s.error());
  auto r = client.call({{"verb", "start"}, {"apps", apps}});
  if (!r) return fail_with(r.error());
  int code = 0;
  for (const auto& w : r->value("warnings", json::array())) {
    std::fprintf(stderr, "herd: warning: %s\n", w.get<std::string>().c_str());
  }
  for (const auto& e : (*r)["errors"]) {
    std::fprintf(stderr, "herd: %s\n", e.value("message", "").c_str());
    code = 1;
  }
  for (const auto& p : (*r)["processes"]) {
    std::string status = p["pm2_env"].value("status", "");
    if (status == "errored") {
      std::fprintf(stderr, "herd: %s (id %d) errored: %s\n", p.value("name", "").c_str(),
                   p.value("pm_id", -1), p["pm2_env"].value("status_text", "").c_str());
      code = 1;
    } else if (p["pm2_env"].value("listen_timed_out", false)) {
      std::fprintf(stderr, "herd: warning: %s (id %d): %s\n", p.value("name", "").c_str(),
                   p.value("pm_id", -1), p["pm2_env"].value("status_text", "").c_str());
    }
  }
  int list = print_list(client, ctx);
  return code != 0 ? code : list;
}

// reload <target...> [--update-env] [--parallel N]: rolling, shows why an app was restarted
// instead, and exits 1 with the daemon's reason when a replacement failed.
int cmd_reload(Client& client, const Context& ctx, const std::vector<std::string>& args) {
  json req = {{"verb", "reload"}};
  std::vector<std::string> targets;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    std::string value;
    if (a == "--update-env") {
      json env = json::object();
      for (const auto& [k, v] : current_env()) env[k] = v;
      req["update_env"] = env;
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
      targets.push_back(a);
      continue;
    }
    char* end = nullptr;
    long n = std::strtol(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || n < 1 || n > 1024) {
      return fail_with("--parallel takes a number from 1 to 1024, not '" + value + "'");
    }
    req["parallel"] = static_cast<int>(n);
  }
  if (targets.empty()) {
    return fail_with("reload needs a target: an id, a name, a /regex/ or all");
  }
  req["targets"] = targets;
  auto r = client.call(req);
  if (!r) return fail_with(r.error());
  for (const auto& w : (*r)["warnings"]) {
    std::fprintf(stderr, "herd: warning: %s\n", w.get<std::string>().c_str());
  }
  std::printf("reloaded %zu process(es) in %lld ms\n", (*r)["processes"].size(),
              static_cast<long long>(r->value("duration_ms", 0)));
  return print_list(client, ctx);
}

int cmd_update(Client& client, const Context& ctx, const std::vector<std::string>& args) {
  auto r = request_update(client, args);
  if (!r) return fail_with(r.error());
  std::printf("herd daemon updated: herd %s -> herd %s (%s), pid %d, %zu app process(es) kept\n",
              r->value("from_version", "?").c_str(), r->value("version", "?").c_str(),
              r->value("binary", "").c_str(), r->value("pid", 0),
              r->value("processes", json::array()).size());
  return print_list(client, ctx);
}

int cmd_logs(Client& client, const std::vector<std::string>& args) {
  std::size_t lines = 15;
  bool stream = true, raw = false, out = true, err = true;
  std::vector<std::string> targets;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--lines" && i + 1 < args.size()) {
      char* end = nullptr;
      lines = std::strtoul(args[++i].c_str(), &end, 10);
      if (*end != '\0') return fail_with("--lines takes a number, not '" + args[i] + "'");
    } else if (a.rfind("--lines=", 0) == 0) {
      lines = std::strtoul(a.c_str() + 8, nullptr, 10);
    } else if (a == "--nostream") {
      stream = false;
    } else if (a == "--raw") {
      raw = true;
    } else if (a == "--out") {
      err = false;
    } else if (a == "--err") {
      out = false;
    } else if (!a.empty() && a[0] == '-') {
      return fail_with("unknown option '" + a + "' for logs");
    } else {
      targets.push_back(a);
    }
  }
  if (targets.empty()) targets.push_back("all");
  json req = {{"verb", "describe"}, {"targets", targets}};
  auto procs = client.call(req);
  if (!procs) return fail_with(procs.error());
  // The last lines of each log file, read from disk directly (fast, and works for stopped apps).
  std::vector<std::string> shown;
  for (const auto& p : *procs) {
    for (const char* key : {"pm_out_log_path", "pm_err_log_path"}) {
      bool is_out = std::strcmp(key, "pm_out_log_path") == 0;
      if ((is_out && !out) || (!is_out && !err)) continue;
      std::string path = p["pm2_env"].value(key, "");
      if (path.empty() || std::find(shown.begin(), shown.end(), path) != shown.end()) continue;
      shown.push_back(path);
      auto tail = manager::tail_lines(path, lines);
      if (!raw) std::printf("%s last %zu lines:\n", path.c_str(), lines);
      if (tail) {
        for (const auto& l : *tail) {
          if (raw) {
            std::printf("%s\n", l.c_str());
          } else {
            std::printf("%d|%s | %s\n", p.value("pm_id", -1), p.value("name", "").c_str(),
                        l.c_str());
          }
        }
      }
      if (!raw) std::printf("\n");
    }
  }
  std::fflush(stdout);
  if (!stream) return 0;
  Status s = client.stream({{"verb", "logs"}, {"targets", targets}}, [&](const json& ev) {
    if (ev.value("event", "") != "log") return true;
    std::string stream_name = ev.value("stream", "");
    if ((stream_name == "out" && !out) || (stream_name == "err" && !err)) return true;
    if (raw) {
      std::printf("%s\n", ev.value("line", "").c_str());
    } else {
      std::printf("%d|%s | %s\n", ev.value("pm_id", -1), ev.value("app", "").c_str(),
                  ev.value("line", "").c_str());
    }
    std::fflush(stdout);
    return true;
  });
  if (!s) return fail_with(s.error());
  return 0;
}

int run(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 1 : 0;
  }
  std::string verb = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (verb == "version" || verb == "--version" || verb == "-v") {
    std::printf("herd %s\n", kVersion);
    return 0;
  }

  if (verb == "startup" || verb == "unstartup") return startup_command(verb, rest);

  auto home = manager::Home::locate();
  if (!home) return fail_with(home.error().context());
  if (verb == "daemon") {
    manager::DaemonOptions options;
    for (std::size_t i = 0; i < rest.size(); ++i) {
      std::string value;
      if (rest[i] == "--foreground") {
        options.foreground = true;
        continue;
      } else if (rest[i] == "--takeover" && i + 1 < rest.size()) {
        // Internal: `herd update` execs the new binary with this (manager/takeover.h).
        char* end = nullptr;
        long fd = std::strtol(rest[++i].c_str(), &end, 10);
        if (*end != '\0' || fd < 3 || fd > 1 << 20)
          return fail_with("--takeover takes a descriptor");
        options.takeover_fd = static_cast<int>(fd);
        continue;
      } else if (rest[i] == "--metrics-port" && i + 1 < rest.size()) {
        value = rest[++i];
      } else if (rest[i].rfind("--metrics-port=", 0) == 0) {
        value = rest[i].substr(15);
      } else {
        return fail_with(fmt::format("unknown option '{}' for daemon", rest[i]));
      }
      auto port = manager::parse_metrics_port(value, "--metrics-port");
      if (!port) return fail_with(port.error().context());
      options.metrics_port = *port;
    }
    return manager::run_daemon(*home, options);
  }
  // Checked here too, since a daemon this command starts would only say so in herd.log.
  if (const char* p = std::getenv("HERD_METRICS_PORT"); p != nullptr && *p != '\0') {
    auto port = manager::parse_metrics_port(p, "HERD_METRICS_PORT");
    if (!port) return fail_with(port.error().context());
  }

  Context ctx{*home, false, 0};
  ctx.color = ::isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr;
  winsize ws{};
  if (::isatty(STDOUT_FILENO) && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
    ctx.width = ws.ws_col;
  ::signal(SIGPIPE, SIG_IGN);

  Client client(*home);
  if (verb == "start") return cmd_start(client, ctx, rest);
  bool bare = verb == "list" || verb == "ls" || verb == "status" || verb == "l" ||
              verb == "jlist" || verb == "resurrect" || verb == "ping" || verb == "kill";
  if (bare && !rest.empty()) {
    return fail_with(fmt::format("{} takes no arguments; '{}' is not one of them", verb, rest[0]));
  }

  // `kill` and `ping` of a daemon that does not run: PM2 starts one for ping, not for kill.
  bool needs_daemon = verb != "kill";
  if (Status s = client.connect(needs_daemon); !s) {
    if (verb == "kill") {
      std::printf("herd: no daemon runs for %s\n", home->dir.c_str());
      return 0;
    }
    return fail_with(s.error());
  }

  if (verb == "list" || verb == "ls" || verb == "status" || verb == "l") {
    return print_list(client, ctx);
  }
  if (verb == "jlist") {
    auto r = client.call({{"verb", "jlist"}});
    if (!r) return fail_with(r.error());
    std::printf("%s\n", r->dump().c_str());
    return 0;
  }
  if (verb == "reload") return cmd_reload(client, ctx, rest);
  if (verb == "stop" || verb == "restart" || verb == "reset") {
    json extra = json::object();
    std::vector<std::string> targets;
    for (const auto& a : rest) {
      if (a == "--update-env") {
        json env = json::object();
        for (const auto& [k, v] : current_env()) env[k] = v;
        extra["update_env"] = env;
      } else {
        targets.push_back(a);
      }
    }
    return targets_verb(client, ctx, verb, targets, extra);
  }
  if (verb == "delete" || verb == "del") return targets_verb(client, ctx, "delete", rest);
  if (verb == "describe" || verb == "show" || verb == "info" || verb == "desc") {
    if (rest.empty()) return fail_with("describe needs a target: an id, a name or a /regex/");
    auto r = client.call({{"verb", "describe"}, {"targets", rest}});
    if (!r) return fail_with(r.error());
    for (const auto& p : *r) std::fputs(format_describe(p, format_options(ctx)).c_str(), stdout);
    return 0;
  }
  if (verb == "env") {
    if (rest.size() != 1) return fail_with("env takes one id");
    auto r = client.call({{"verb", "describe"}, {"targets", rest}});
    if (!r) return fail_with(r.error());
    if (r->size() != 1) return fail_with("'" + rest[0] + "' matches several processes; give an id");
    std::fputs(format_env((*r)[0]).c_str(), stdout);
    return 0;
  }
  if (verb == "scale") {
    if (rest.size() != 2) return fail_with("usage: herd scale <app> <N|+N|-N>");
    auto r = client.call({{"verb", "scale"}, {"app", rest[0]}, {"count", rest[1]}});
    if (!r) return fail_with(r.error());
    return print_list(client, ctx);
  }
  if (verb == "sendSignal" || verb == "signal") {
    if (rest.size() < 2) return fail_with("usage: herd signal <SIGNAL> <target...>");
    std::vector<std::string> targets(rest.begin() + 1, rest.end());
    auto r = client.call({{"verb", "signal"}, {"signal", rest[0]}, {"targets", targets}});
    if (!r) return fail_with(r.error());
    for (const auto& p : *r) {
      std::printf("sent %s to %s (id %d, pid %d)\n", rest[0].c_str(), p.value("name", "").c_str(),
                  p.value("pm_id", -1), p.value("pid", 0));
    }
    return 0;
  }
  if (verb == "flush") {
    auto r = client.call({{"verb", "flush"}, {"targets", rest}});
    if (!r) return fail_with(r.error());
    for (const auto& p : (*r)["flushed"]) std::printf("flushed %s\n", p.get<std::string>().c_str());
    return 0;
  }
  if (verb == "save" || verb == "dump") {
    bool force = rest.size() == 1 && (rest[0] == "--force" || rest[0] == "-f");
    if (!rest.empty() && !force) return fail_with("usage: herd save [--force]");
    auto r = client.call({{"verb", "save"}, {"force", force}});
    if (!r) return fail_with(r.error());
    std::printf("saved %d app(s) to %s\n", r->value("apps", 0), r->value("path", "").c_str());
    return 0;
  }
  if (verb == "resurrect") {
    auto r = client.call({{"verb", "resurrect"}});
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
    int list = print_list(client, ctx);
    return code != 0 ? code : list;
  }
  if (verb == "logs") return cmd_logs(client, rest);
  if (verb == "monit") {
    if (!rest.empty()) return fail_with("monit takes no arguments");
    return run_monit(client);
  }
  if (verb == "metrics") {
    if (!rest.empty()) return fail_with("metrics takes no arguments");
    auto r = client.call({{"verb", "jlist"}});
    if (!r) return fail_with(r.error());
    std::fputs(manager::prometheus_text(*r, now_ms()).c_str(), stdout);
    return 0;
  }
  if (verb == "ping") {
    auto r = client.call({{"verb", "ping"}});
    if (!r) return fail_with(r.error());
    std::printf("pong (daemon pid %d, herd %s%s)\n", r->value("pid", 0),
                r->value("version", "?").c_str(), client.daemon_started() ? ", just started" : "");
    if (int updates = r->value("updates", 0); updates > 0) {
      std::printf("updated %d time(s) in place, now running %s\n", updates,
                  r->value("binary", "").c_str());
    }
    if (const auto& m = (*r)["metrics"]; m.is_object() && m.contains("address")) {
      std::printf("metrics on http://%s/metrics\n", m.value("address", "").c_str());
    } else if (m.is_object() && m.contains("error")) {
      std::printf("no metrics listener: %s\n", m.value("error", "").c_str());
    }
    return 0;
  }
  if (verb == "kill") {
    auto r = client.call({{"verb", "kill"}});
    if (!r) return fail_with(r.error());
    std::printf("herd daemon stopped, with every app\n");
    return 0;
  }
  if (verb == "update") return cmd_update(client, ctx, rest);
  return fail_with(fmt::format("unknown verb '{}' (see `herd help`)", verb));
}

}  // namespace
}  // namespace herd::cli

int main(int argc, char** argv) { return herd::cli::run(argc, argv); }
