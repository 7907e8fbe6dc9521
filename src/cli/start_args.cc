#include "cli/start_args.h"

#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <iterator>

#include "app/app_name.h"
#include "app/app_settings.h"
#include "app/ecosystem.h"
#include "app/setting_values.h"

namespace herd::cli {
namespace {

using manager::AppSetting;
using manager::AppSpec;
using manager::FlagArity;

// What the command line says, before it is known whether the target is a script or a file.
struct StartLine {
  AppSpec cli;  // what the flags say; for ecosystem files, only flags given override
  std::vector<const AppSetting*> given;  // the settings whose flags were given
  std::string target;                    // the one being made into apps
  std::vector<std::string> targets;      // every script, command, file (or "-" for stdin) given
  std::string env_name;
  std::vector<std::string> only;
  std::vector<std::string> extra_args;
  bool have_args = false;
  std::vector<std::string> filter_env;  // --filter-env NAME (repeatable)
  bool disable_logs = false;            // --disable-logs
  bool attach = false;                  // --attach

  bool was_given(std::string_view key) const {
    return std::any_of(given.begin(), given.end(),
                       [&](const AppSetting* s) { return s->key == key; });
  }
};

// PM2 start flags that mean nothing under herd, accepted so that a deploy script runs unchanged
// (PM2 7's lib/binaries/CLI.js). -f/--force: PM2 starts a second app of the same name; herd's
// names are unique, so a second copy needs its own --name (the daemon says so).
constexpr std::string_view kIgnoredFlags[] = {
    "-f",
    "--force",
    "--no-vizion",
    "--no-pmx",
    "--no-automation",
    "--no-treekill",
    "--source-map-support",
    "--disable-source-map-support",
    "--trace",
    "--disable-trace",
    "--v8",
    "--event-loop-inspector",
    "--deep-monitoring",
    "--no-color",
    "-s",
    "--silent",
};

bool ignored_flag(std::string_view flag) {
  return std::find(std::begin(kIgnoredFlags), std::end(kIgnoredFlags), flag) !=
         std::end(kIgnoredFlags);
}

// The value of the flag args[*i] (`flag` is its name, before any '='), as `arity` takes one:
// after '=' in "--flag=value", else the next argument (which *i then moves past).
Result<std::string> flag_value(const std::vector<std::string>& args, std::size_t* i,
                               FlagArity arity, bool have_target) {
  const std::string& a = args[*i];
  auto eq = a.find('=');
  switch (arity) {
    case FlagArity::kSwitch:
      return std::string();
    case FlagArity::kValue:
      if (a.starts_with("--") && eq != std::string::npos) return a.substr(eq + 1);
      if (*i + 1 >= args.size()) return fail(EINVAL, a + " needs a value");
      return args[++*i];
    case FlagArity::kOptional:
      if (eq != std::string::npos) return a.substr(eq + 1);
      // PM2's optional value: a word after the flag (--watch src) is its value once the script
      // is known (before it, the word is the script).
      if (have_target && *i + 1 < args.size() && !args[*i + 1].empty() && args[*i + 1][0] != '-') {
        return args[++*i];
      }
      return std::string();
  }
  return std::string();
}

Result<StartLine> read_start_line(const std::vector<std::string>& args, const std::string& cwd,
                                  std::string_view verb) {
  StartLine line;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      line.extra_args.assign(args.begin() + static_cast<long>(i) + 1, args.end());
      line.have_args = true;
      break;
    }
    std::string flag = a.substr(0, a.find('='));
    if (const AppSetting* s = manager::find_setting_by_flag(flag)) {
      line.given.push_back(s);
      auto v = flag_value(args, &i, s->flag.arity, !line.targets.empty());
      if (!v) return std::unexpected(v.error());
      if (Status ok = s->flag.parse(line.cli, {flag, *v, cwd}); !ok) {
        return std::unexpected(ok.error());
      }
    } else if (flag == "--filter-env") {
      auto v = flag_value(args, &i, FlagArity::kValue, false);
      if (!v) return std::unexpected(v.error());
      line.filter_env.push_back(*v);
    } else if (a == "--disable-logs" || a == "--attach") {
      (a == "--attach" ? line.attach : line.disable_logs) = true;
    } else if (a == "--no-daemon") {
      return fail(EINVAL,
                  "--no-daemon is not a start option in herd: run the daemon in the foreground "
                  "with `herd daemon --foreground`, then `herd start` from another shell");
    } else if (flag == "--env" || flag == "--only") {
      auto v = flag_value(args, &i, FlagArity::kValue, false);
      if (!v) return std::unexpected(v.error());
      if (flag == "--env") {
        line.env_name = *v;
      } else {
        line.only = manager::detail::split_commas(*v);
      }
    } else if (ignored_flag(a)) {
      continue;
    } else if (!a.empty() && a[0] == '-' && a != "-") {
      return fail(EINVAL,
                  fmt::format("unknown option '{}' for {} (see `herd {} --help`)", a, verb, verb));
    } else {
      // Several scripts are several apps, as `pm2 start a.js b.js` (the app's own arguments go
      // after --).
      line.targets.push_back(a);
    }
  }
  if (line.targets.empty()) {
    return fail(EINVAL, "start needs a script, a command or an ecosystem file");
  }
  if (line.targets.size() > 1 && line.was_given("name")) {
    return fail(EINVAL, "--name names one app; start the scripts one by one to name each");
  }
  return line;
}

Result<StartRequest> from_ecosystem(StartLine& line, const std::map<std::string, std::string>& env,
                                    const std::string& cwd) {
  manager::EcosystemOptions o;
  o.env_name = line.env_name;
  o.only = line.only;
  o.base_env = manager::drop_env_containing(env, line.filter_env);
  Result<manager::EcosystemResult> eco;
  if (line.target == "-") {
    // `herd start -`: a JSON ecosystem document on stdin, as `pm2 start -` reads.
    std::string text{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
    eco = manager::parse_ecosystem(text, manager::EcosystemFormat::kJson, "stdin", cwd, o);
  } else {
    eco = manager::load_ecosystem(line.target[0] == '/' ? line.target : cwd + "/" + line.target, o);
  }
  if (!eco) return std::unexpected(eco.error());
  StartRequest out;
  out.warnings = eco->warnings;
  const bool instances_given = line.was_given("instances");
  for (auto& app : eco->apps) {
    // Flags given on the command line override the file, as with PM2 (the settings table says
    // which, and how).
    for (const AppSetting* s : line.given) {
      if (s->flag.override_file != nullptr) s->flag.override_file(app, line.cli);
    }
    if (line.have_args) app.args = line.extra_args;
    if (line.disable_logs) app.out_file = app.error_file = "/dev/null";
    if (line.was_given("exec_mode")) {
      app.exec_mode = manager::ExecMode::kFork;  // -x wins over -i, as in PM2
    } else if (!app.listen.empty() || (instances_given && app.instances != "1")) {
      app.exec_mode = manager::ExecMode::kCluster;
    }
    out.apps.push_back(std::move(app));
  }
  if (line.was_given("name") && out.apps.size() == 1) out.apps[0].name = line.cli.name;
  for (const auto& app : out.apps) {
    if (Status ok = manager::validate_app_name(app.name); !ok) return std::unexpected(ok.error());
  }
  return out;
}

}  // namespace

const char* start_usage() {
  return R"(usage: herd start <script | "command line" | ecosystem file> [options] [-- args...]

  -n, --name NAME               app name (default: the script's name)
  -i, --instances N             N, max (one per CPU), 0 (= max) or -N (CPUs - N)
      --listen ADDR             herd binds ADDR and hands it to every instance (cluster mode);
                                repeatable: --listen :8080 --listen /run/app.sock
      --cwd DIR                 working directory
      --interpreter PROG        run the script with PROG ("none": execute it directly)
      --node-args "ARGS"        arguments for the interpreter (also --interpreter-args)
  -x, --execute-command         fork mode: N separate copies with -i N, no shared socket
      --env NAME                use env_NAME of the ecosystem file
      --only A,B                start only these apps of the ecosystem file
      --wait-ready              online only after READY=1 (sd_notify) or process.send('ready')
      --listen-timeout MS       how long to wait for ready (default 3000)
      --health-check CHECK      probe each instance (also --health): liveness replaces it,
                                readiness gates start/reload, e.g. http=/healthz,port=3000,
                                interval=5s,timeout=2s,failures=3 | tcp,port=P | exec=CMD
      --no-inject               cluster mode without herd's bind library: only --listen
                                sockets are shared (LISTEN_FDS)
  -k, --kill-timeout MS         SIGKILL after MS when stopping (default 1600)
      --kill-signal SIG         stop signal (default SIGINT)
      --shutdown-with-message   stop a Node app with the IPC message 'shutdown' instead
                                (programs without herd's Node IPC channel get the signal)
      --no-autorestart          do not restart when it exits
      --no-autostart            register the app stopped; `herd start NAME` starts it
      --max-restarts N          unstable restarts before "errored" (default 16)
      --min-uptime MS           shorter runs are unstable (default 1000)
      --restart-delay MS        wait before restarting
      --exp-backoff-restart-delay MS   exponential backoff from MS (x1.5, capped at 15 s)
      --stop-exit-codes A,B     exit codes that are not restarted
      --time                    prefix log lines with an ISO-8601 time
      --log-date-format FMT     prefix log lines with "<date>: ", FMT in dayjs tokens
                                ("YYYY-MM-DD HH:mm:ss Z"); replaces --time's prefix
      --log-type json           write each log line as PM2's JSON object
  -o, --output FILE             stdout log file;  -e, --error FILE   stderr log file
  -l, --log [FILE]              combined log file (default HERD_HOME/logs/<name>.log);
                                --merge-logs   one file for all instances
      --disable-logs            no log files (output to /dev/null)
      --attach                  after starting, stream the apps' logs until Ctrl-C
      --max-memory-restart SIZE restart above SIZE (e.g. 300M)
      --max-memory SIZE         hard memory limit of each instance (cgroup; the kernel's OOM
                                killer acts above it)
      --cpu-quota SHARE         CPU limit of each instance: "50%" of one CPU, or CPUs (1.5)
      --max-tasks N             at most N processes and threads in each instance
      --cron-restart "EXPR"     restart on a cron schedule: 5 fields, or 6 with seconds first
                                ("0 3 * * *", "*/30 * * * * *", @daily); also --cron, -c
      --watch [PATHS]           restart when files change under the app's cwd, or under
                                PATHS (comma-separated, after the script: app.js --watch src)
      --ignore-watch LIST       names, globs or /regexes/ not to watch (default: node_modules
                                and dot-files)
      --ext js,json             watch: only changes to files with these extensions restart
      --watch-delay SEC         restart SEC seconds after the last change (or "500ms";
                                default 1)
      --watchdog DURATION       restart an instance that sends no WATCHDOG=1 for DURATION
                                ("10s"; 0 = off); it gets WATCHDOG_USEC and WATCHDOG_PID
      --hook EVENT=COMMAND      run COMMAND (/bin/sh) on crash, errored, restart,
                                reload_failed or health (repeatable, one per event)
      --hook-timeout DURATION   kill a hook still running after DURATION (default 30s)
      --memory-window DURATION  the window of the memory trend and the leak? mark (default 10m)
      --memory-leak-threshold SIZE  growth per second from which a steady growth is marked
                                leak? (default 10K)
      --load-window DURATION    the window of the load shares in cluster mode (default 1m)
      --namespace NS
      --filter-env NAME         leave out of the app's environment the shell's variables
                                whose names contain NAME (repeatable)
  -u, --user USER, --uid USER   run as USER (a name or a number; needs a daemon run by root)
      --gid GROUP               with GROUP as primary group (default: USER's)

  Accepted with no effect (PM2 flags that mean nothing under herd): -f/--force, --no-vizion,
  --no-pmx, --no-automation, --no-treekill, --source-map-support, --disable-source-map-support,
  --trace, --disable-trace, --v8, --event-loop-inspector, --deep-monitoring, --no-color,
  -s/--silent.
)";
}

bool is_ecosystem_target(std::string_view target) {
  return target == "-" || manager::looks_like_ecosystem(target);
}

Result<StartRequest> parse_start(const std::vector<std::string>& args,
                                 const std::map<std::string, std::string>& env,
                                 const std::string& cwd, std::string_view verb) {
  auto line = read_start_line(args, cwd, verb);
  if (!line) return std::unexpected(line.error());
  StartRequest out;
  out.attach = line->attach;
  for (const std::string& target : line->targets) {
    line->target = target;
    StartTarget part{target, is_ecosystem_target(target), out.apps.size(), 0};
    if (part.file) {
      auto eco = from_ecosystem(*line, env, cwd);
      if (!eco) return std::unexpected(eco.error());
      for (auto& w : eco->warnings) out.warnings.push_back(std::move(w));
      for (auto& a : eco->apps) out.apps.push_back(std::move(a));
    } else {
      if (!line->env_name.empty() || !line->only.empty()) {
        return fail(EINVAL,
                    "--env and --only apply to ecosystem files; '" + target + "' is not one");
      }
      AppSpec cli = line->cli;
      cli.script = target;
      cli.args = line->extra_args;
      if (cli.name.empty()) cli.name = manager::default_app_name(target);
      if (Status ok = manager::validate_app_name(cli.name); !ok) {
        return std::unexpected(ok.error());
      }
      if (cli.cwd.empty()) cli.cwd = cwd;
      cli.env = manager::drop_env_containing(env, line->filter_env);  // frozen now, as PM2 does
      // PM2's --disable-logs: no log files (and, as with PM2's pm_*_log_path, /dev/null).
      if (line->disable_logs) cli.out_file = cli.error_file = "/dev/null";
      // More than one instance (or a `--listen`) is cluster mode, as `pm2 start app.js -i 4` is.
      // -x (fork mode) wins over -i, as in PM2.
      bool cluster = !cli.listen.empty() || cli.instances != "1";
      if (cluster && !line->was_given("exec_mode")) cli.exec_mode = manager::ExecMode::kCluster;
      out.apps.push_back(std::move(cli));
    }
    part.count = out.apps.size() - part.first;
    out.targets.push_back(std::move(part));
  }
  return out;
}

}  // namespace herd::cli
