#include "cli/start_args.h"

#include <fmt/format.h>

#include <cstdlib>
#include <optional>

#include "app/app_name.h"
#include "app/cron.h"
#include "app/ecosystem.h"
#include "app/watch_filter.h"

namespace herd::cli {
namespace {

using manager::AppSpec;

Result<std::uint64_t> parse_ms(const std::string& flag, const std::string& v) {
  char* end = nullptr;
  unsigned long long n = std::strtoull(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || v[0] == '-') {
    return fail(EINVAL, fmt::format("{} takes milliseconds (a whole number), not '{}'", flag, v));
  }
  return static_cast<std::uint64_t>(n);
}

std::vector<std::string> split_commas(const std::string& v) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= v.size()) {
    std::size_t c = v.find(',', start);
    std::string part = v.substr(start, c == std::string::npos ? std::string::npos : c - start);
    if (!part.empty()) out.push_back(part);
    if (c == std::string::npos) break;
    start = c + 1;
  }
  return out;
}

// --watch-delay as PM2 reads it: seconds ("4", "0.5"), or with a unit ("500ms", "2s").
Result<std::uint64_t> parse_watch_delay(const std::string& v) {
  bool unitless = !v.empty() && v.find_first_not_of("0123456789.") == std::string::npos;
  auto ms = manager::parse_duration_ms(unitless ? v + "s" : v);
  if (!ms) {
    return fail(EINVAL, fmt::format("--watch-delay takes seconds (\"2\", \"0.5\") or a duration "
                                    "(\"500ms\"), not '{}'",
                                    v));
  }
  return ms;
}

// --ignore-watch "node_modules,*.log" or "node_modules *.log".
std::vector<std::string> split_list(const std::string& v) {
  std::vector<std::string> out;
  std::string word;
  for (char c : v + ",") {
    if (c == ',' || c == ' ' || c == '\t') {
      if (!word.empty()) out.push_back(std::move(word));
      word.clear();
    } else {
      word.push_back(c);
    }
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
      --env NAME                use env_NAME of the ecosystem file
      --only A,B                start only these apps of the ecosystem file
      --wait-ready              online only after READY=1 (sd_notify) or process.send('ready')
      --listen-timeout MS       how long to wait for ready (default 3000)
      --no-inject               cluster mode without herd's bind library: only --listen
                                sockets are shared (LISTEN_FDS)
  -k, --kill-timeout MS         SIGKILL after MS when stopping (default 1600)
      --kill-signal SIG         stop signal (default SIGINT)
      --no-autorestart          do not restart when it exits
      --max-restarts N          unstable restarts before "errored" (default 16)
      --min-uptime MS           shorter runs are unstable (default 1000)
      --restart-delay MS        wait before restarting
      --exp-backoff-restart-delay MS   exponential backoff from MS (x1.5, capped at 15 s)
      --stop-exit-codes A,B     exit codes that are not restarted
      --time                    prefix log lines with an ISO-8601 time
  -o, --output FILE             stdout log file;  -e, --error FILE   stderr log file
  -l, --log FILE                combined log file; --merge-logs   one file for all instances
      --max-memory-restart SIZE restart above SIZE (e.g. 300M)
      --cron-restart "EXPR"     restart on a cron schedule: 5 fields, or 6 with seconds first
                                ("0 3 * * *", "*/30 * * * * *", @daily); also --cron
      --watch [PATHS]           restart when files change under the app's cwd, or under
                                PATHS (comma-separated, after the script: app.js --watch src)
      --ignore-watch LIST       names, globs or /regexes/ not to watch (default: node_modules
                                and dot-files)
      --watch-delay SEC         restart SEC seconds after the last change (or "500ms";
                                default 1)
      --namespace NS
)";
}

Result<StartRequest> parse_start(const std::vector<std::string>& args,
                                 const std::map<std::string, std::string>& env,
                                 const std::string& cwd) {
  AppSpec cli;  // what the flags say; for ecosystem files, only flags given override
  std::vector<std::string> given;
  std::string target;
  std::string env_name;
  std::vector<std::string> only;
  std::vector<std::string> extra_args;
  bool have_args = false;

  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      extra_args.assign(args.begin() + static_cast<long>(i) + 1, args.end());
      have_args = true;
      break;
    }
    auto value = [&](std::string* out) -> Status {
      std::string flag = a;
      auto eq = a.find('=');
      if (a.rfind("--", 0) == 0 && eq != std::string::npos) {
        *out = a.substr(eq + 1);
        return {};
      }
      if (i + 1 >= args.size()) return fail(EINVAL, flag + " needs a value");
      *out = args[++i];
      return {};
    };
    std::string flag = a.substr(0, a.find('='));
    std::string v;
    auto take = [&]() -> Status {
      given.push_back(flag);
      return value(&v);
    };
    Status st;
    if (flag == "-n" || flag == "--name") {
      if (!(st = take())) return std::unexpected(st.error());
      cli.name = v;
    } else if (flag == "-i" || flag == "--instances") {
      if (!(st = take())) return std::unexpected(st.error());
      if (Status s = manager::validate_instances(v); !s) return std::unexpected(s.error());
      cli.instances = v;
    } else if (flag == "--listen") {
      if (!(st = take())) return std::unexpected(st.error());
      cli.listen.push_back(v);
    } else if (flag == "--cwd") {
      if (!(st = take())) return std::unexpected(st.error());
      cli.cwd = v[0] == '/' ? v : cwd + "/" + v;
    } else if (flag == "--interpreter") {
      if (!(st = take())) return std::unexpected(st.error());
      cli.interpreter = v;
    } else if (flag == "--env") {
      if (!(st = value(&v))) return std::unexpected(st.error());
      env_name = v;
    } else if (flag == "--only") {
      if (!(st = value(&v))) return std::unexpected(st.error());
      only = split_commas(v);
    } else if (flag == "--wait-ready") {
      given.push_back(flag);
      cli.wait_ready = true;
    } else if (flag == "--no-inject") {
      given.push_back(flag);
      cli.inject = false;
    } else if (flag == "--listen-timeout") {
      if (!(st = take())) return std::unexpected(st.error());
      auto ms = parse_ms(flag, v);
      if (!ms) return std::unexpected(ms.error());
      cli.listen_timeout_ms = *ms;
    } else if (flag == "-k" || flag == "--kill-timeout") {
      if (!(st = take())) return std::unexpected(st.error());
      auto ms = parse_ms(flag, v);
      if (!ms) return std::unexpected(ms.error());
      cli.kill_timeout_ms = *ms;
    } else if (flag == "--kill-signal") {
      if (!(st = take())) return std::unexpected(st.error());
      if (auto s = manager::parse_signal(v); !s) return std::unexpected(s.error());
      cli.kill_signal = v;
    } else if (flag == "--no-autorestart") {
      given.push_back(flag);
      cli.autorestart = false;
    } else if (flag == "--max-restarts") {
      if (!(st = take())) return std::unexpected(st.error());
      auto n = parse_ms(flag, v);
      if (!n) return fail(EINVAL, "--max-restarts takes a whole number, not '" + v + "'");
      cli.max_restarts = static_cast<int>(*n);
    } else if (flag == "--min-uptime") {
      if (!(st = take())) return std::unexpected(st.error());
      auto ms = parse_ms(flag, v);
      if (!ms) return std::unexpected(ms.error());
      cli.min_uptime_ms = *ms;
    } else if (flag == "--restart-delay") {
      if (!(st = take())) return std::unexpected(st.error());
      auto ms = parse_ms(flag, v);
      if (!ms) return std::unexpected(ms.error());
      cli.restart_delay_ms = *ms;
    } else if (flag == "--exp-backoff-restart-delay") {
      if (!(st = take())) return std::unexpected(st.error());
      auto ms = parse_ms(flag, v);
      if (!ms) return std::unexpected(ms.error());
      cli.exp_backoff_restart_delay_ms = *ms;
    } else if (flag == "--stop-exit-codes") {
      if (!(st = take())) return std::unexpected(st.error());
      for (const auto& c : split_commas(v)) {
        auto n = parse_ms(flag, c);
        if (!n) return fail(EINVAL, "--stop-exit-codes takes numbers, not '" + c + "'");
        cli.stop_exit_codes.push_back(static_cast<int>(*n));
      }
    } else if (flag == "--time") {
      given.push_back(flag);
      cli.time = true;
    } else if (flag == "-o" || flag == "--output") {
      if (!(st = take())) return std::unexpected(st.error());
      cli.out_file = v[0] == '/' ? v : cwd + "/" + v;
    } else if (flag == "-e" || flag == "--error") {
      if (!(st = take())) return std::unexpected(st.error());
      cli.error_file = v[0] == '/' ? v : cwd + "/" + v;
    } else if (flag == "-l" || flag == "--log") {
      if (!(st = take())) return std::unexpected(st.error());
      cli.log_file = v[0] == '/' ? v : cwd + "/" + v;
    } else if (flag == "--merge-logs") {
      given.push_back(flag);
      cli.merge_logs = true;
    } else if (flag == "--max-memory-restart") {
      if (!(st = take())) return std::unexpected(st.error());
      auto size = manager::parse_size(v);
      if (!size) return std::unexpected(size.error());
      cli.max_memory_restart = *size;
    } else if (flag == "--namespace") {
      if (!(st = take())) return std::unexpected(st.error());
      cli.namespace_ = v;
    } else if (flag == "--cron-restart" || flag == "--cron") {
      if (!(st = take())) return std::unexpected(st.error());
      if (auto cron = manager::parse_cron_restart(v); !cron) {
        return fail(EINVAL, fmt::format("{}: {}", flag, cron.error().context()));
      }
      cli.cron_restart = v;
    } else if (flag == "--watch") {
      given.push_back(flag);
      cli.watch = true;
      std::string paths;
      if (a.find('=') != std::string::npos) {
        paths = a.substr(a.find('=') + 1);
      } else if (!target.empty() && i + 1 < args.size() && !args[i + 1].empty() &&
                 args[i + 1][0] != '-') {
        // PM2's optional value: a word after --watch names what to watch, once the script is
        // known (before it, the word is the script).
        paths = args[++i];
      }
      for (auto& p : split_commas(paths)) cli.watch_paths.push_back(p);
    } else if (flag == "--ignore-watch") {
      if (!(st = take())) return std::unexpected(st.error());
      for (auto& p : split_list(v)) cli.ignore_watch.push_back(p);
      if (Status ok = manager::validate_ignore_watch(cli.ignore_watch); !ok) {
        return fail(EINVAL, fmt::format("--ignore-watch: {}", ok.error().context()));
      }
    } else if (flag == "--watch-delay") {
      if (!(st = take())) return std::unexpected(st.error());
      auto ms = parse_watch_delay(v);
      if (!ms) return std::unexpected(ms.error());
      cli.watch_delay_ms = *ms;
    } else if (!a.empty() && a[0] == '-' && a != "-") {
      return fail(EINVAL,
                  fmt::format("unknown option '{}' for start (see `herd start --help`)", a));
    } else if (target.empty()) {
      target = a;
    } else {
      return fail(EINVAL, fmt::format("start takes one script, command or ecosystem file; '{}' is "
                                      "a second one (put the app's own arguments after --)",
                                      a));
    }
  }
  if (target.empty()) return fail(EINVAL, "start needs a script, a command or an ecosystem file");

  auto was_given = [&](std::initializer_list<const char*> flags) {
    for (const char* f : flags) {
      for (const auto& g : given) {
        if (g == f) return true;
      }
    }
    return false;
  };

  StartRequest out;
  if (manager::looks_like_ecosystem(target)) {
    manager::EcosystemOptions o;
    o.env_name = env_name;
    o.only = only;
    o.base_env = env;
    std::string path = target[0] == '/' ? target : cwd + "/" + target;
    auto eco = manager::load_ecosystem(path, o);
    if (!eco) return std::unexpected(eco.error());
    out.warnings = eco->warnings;
    for (auto& app : eco->apps) {
      // Flags given on the command line override the file, as with PM2.
      if (was_given({"-i", "--instances"})) app.instances = cli.instances;
      if (was_given({"--listen"})) app.listen = cli.listen;
      if (was_given({"--wait-ready"})) app.wait_ready = true;
      if (was_given({"--no-inject"})) app.inject = false;
      if (was_given({"--listen-timeout"})) app.listen_timeout_ms = cli.listen_timeout_ms;
      if (was_given({"-k", "--kill-timeout"})) app.kill_timeout_ms = cli.kill_timeout_ms;
      if (was_given({"--kill-signal"})) app.kill_signal = cli.kill_signal;
      if (was_given({"--no-autorestart"})) app.autorestart = false;
      if (was_given({"--max-restarts"})) app.max_restarts = cli.max_restarts;
      if (was_given({"--min-uptime"})) app.min_uptime_ms = cli.min_uptime_ms;
      if (was_given({"--restart-delay"})) app.restart_delay_ms = cli.restart_delay_ms;
      if (was_given({"--exp-backoff-restart-delay"})) {
        app.exp_backoff_restart_delay_ms = cli.exp_backoff_restart_delay_ms;
      }
      if (was_given({"--time"})) app.time = true;
      if (was_given({"--merge-logs"})) app.merge_logs = true;
      if (was_given({"--namespace"})) app.namespace_ = cli.namespace_;
      if (was_given({"--cron-restart", "--cron"})) app.cron_restart = cli.cron_restart;
      if (was_given({"--watch"})) {
        app.watch = true;
        if (!cli.watch_paths.empty()) app.watch_paths = cli.watch_paths;
      }
      if (was_given({"--ignore-watch"})) app.ignore_watch = cli.ignore_watch;
      if (was_given({"--watch-delay"})) app.watch_delay_ms = cli.watch_delay_ms;
      if (have_args) app.args = extra_args;
      if (!app.listen.empty() || (was_given({"-i", "--instances"}) && app.instances != "1")) {
        app.exec_mode = manager::ExecMode::kCluster;
      }
      out.apps.push_back(std::move(app));
    }
    if (was_given({"-n", "--name"}) && out.apps.size() == 1) out.apps[0].name = cli.name;
    for (const auto& app : out.apps) {
      if (Status ok = manager::validate_app_name(app.name); !ok) return std::unexpected(ok.error());
    }
    return out;
  }

  if (!env_name.empty() || !only.empty()) {
    return fail(EINVAL, "--env and --only apply to ecosystem files; '" + target + "' is not one");
  }
  cli.script = target;
  cli.args = extra_args;
  if (cli.name.empty()) cli.name = manager::default_app_name(target);
  if (Status ok = manager::validate_app_name(cli.name); !ok) return std::unexpected(ok.error());
  if (cli.cwd.empty()) cli.cwd = cwd;
  cli.env = env;  // frozen now, as PM2 does
  // More than one instance (or a `--listen`) is cluster mode, as `pm2 start app.js -i 4` is.
  if (!cli.listen.empty() || cli.instances != "1") cli.exec_mode = manager::ExecMode::kCluster;
  out.apps.push_back(std::move(cli));
  return out;
}

}  // namespace herd::cli
