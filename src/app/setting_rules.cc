#include "app/setting_rules.h"

#include <fmt/format.h>

#include "app/app_name.h"
#include "app/cron.h"
#include "app/watch_filter.h"

namespace herd::manager::detail {

Result<std::vector<std::string>> as_args(const json& v) { return as_string_list(v, true); }
Result<std::vector<std::string>> as_paths(const json& v) { return as_string_list(v, false); }

// --- Settings with rules of their own. ---

Status set_name(AppSpec& s, const json& v) {
  auto name = as_string(v);
  if (!name) return std::unexpected(name.error());
  // "" means "not given": the ecosystem reader and the CLI put the default name there, and
  // Supervisor::start refuses an app that still has none.
  if (!name->empty()) {
    if (Status ok = validate_app_name(*name); !ok) return ok;
  }
  s.name = std::move(*name);
  return {};
}

Status set_instances(AppSpec& s, const json& v) {
  std::string text;
  if (v.is_number_integer()) {
    text = v.dump();
  } else if (v.is_string()) {
    text = v.get<std::string>();
  } else {
    return expected("a number or \"max\"", v);
  }
  if (!validate_instances(text)) return expected("a number or \"max\"", v);
  // Normalized ("04" -> "4") so that equal specs compare equal and round-trip exactly.
  s.instances = text == "max" ? text : std::to_string(std::stoi(text));
  return {};
}

json get_instances(const AppSpec& s) {
  if (s.instances != "max" && validate_instances(s.instances)) return std::stoi(s.instances);
  return s.instances;
}

Status flag_instances(AppSpec& cli, const FlagInput& in) {
  if (Status s = validate_instances(in.value); !s) return s;
  cli.instances = in.value;
  return {};
}

Status set_exec_mode(AppSpec& s, const json& v) {
  std::string mode = v.is_string() ? v.get<std::string>() : "";
  if (mode == "fork" || mode == "fork_mode") {
    s.exec_mode = ExecMode::kFork;
  } else if (mode == "cluster" || mode == "cluster_mode") {
    s.exec_mode = ExecMode::kCluster;
  } else {
    return expected("\"fork\" or \"cluster\"", v);
  }
  return {};
}

Status flag_fork_mode(AppSpec& cli, const FlagInput&) {
  cli.exec_mode = ExecMode::kFork;
  return {};
}

json get_exec_mode(const AppSpec& s) {
  return s.exec_mode == ExecMode::kCluster ? "cluster" : "fork";
}

Status flag_listen(AppSpec& cli, const FlagInput& in) {
  cli.listen.push_back(in.value);
  return {};
}

Status set_socket_mode(AppSpec& s, const json& v) {
  if (v != "shared" && v != "reuseport") return expected("\"shared\" or \"reuseport\"", v);
  s.socket_mode = v.get<std::string>();
  return {};
}

Status flag_max_restarts(AppSpec& cli, const FlagInput& in) {
  auto n = flag_ms(in.flag, in.value);
  if (!n) return fail(EINVAL, "--max-restarts takes a whole number, not '" + in.value + "'");
  cli.max_restarts = static_cast<int>(*n);
  return {};
}

Status set_stop_exit_codes(AppSpec& s, const json& v) {
  json list = v.is_array() ? v : json::array({v});
  std::vector<int> codes;
  for (const json& item : list) {
    auto code = as_count(item, 255);
    if (!code) return expected("exit codes (0-255): a number or an array of numbers", v);
    codes.push_back(static_cast<int>(*code));
  }
  s.stop_exit_codes = std::move(codes);
  return {};
}

Status flag_stop_exit_codes(AppSpec& cli, const FlagInput& in) {
  for (const auto& c : split_commas(in.value)) {
    auto n = flag_ms(in.flag, c);
    if (!n) return fail(EINVAL, "--stop-exit-codes takes numbers, not '" + c + "'");
    cli.stop_exit_codes.push_back(static_cast<int>(*n));
  }
  return {};
}

Status set_kill_signal(AppSpec& s, const json& v) {
  auto text = as_string(v);
  Result<int> signo = fail(EINVAL, "");
  if (text) signo = parse_signal(*text);
  if (!signo) return expected("a signal name or number (\"SIGINT\", \"SIGTERM\", 15)", v);
  s.kill_signal = signal_name(*signo);
  return {};
}

Status flag_kill_signal(AppSpec& cli, const FlagInput& in) {
  if (auto s = parse_signal(in.value); !s) return std::unexpected(s.error());
  cli.kill_signal = in.value;
  return {};
}

Status set_cron_restart(AppSpec& s, const json& v) {
  auto text = as_string(v);
  if (!text) return std::unexpected(text.error());
  // PM2 takes the number 0 for "no cron restart" too.
  if (auto cron = parse_cron_restart(*text); !cron) return std::unexpected(cron.error());
  s.cron_restart = std::move(*text);
  return {};
}

Status flag_cron_restart(AppSpec& cli, const FlagInput& in) {
  if (auto cron = parse_cron_restart(in.value); !cron) {
    return fail(EINVAL, fmt::format("{}: {}", in.flag, cron.error().context()));
  }
  cli.cron_restart = in.value;
  return {};
}

json jlist_cron_restart(const AppSpec& s) {
  return s.cron_restart.empty() ? json(nullptr) : json(s.cron_restart);
}

Status set_watch(AppSpec& s, const json& v) {
  if (v.is_boolean()) {
    s.watch = v.get<bool>();
    s.watch_paths.clear();
    return {};
  }
  Result<std::vector<std::string>> paths = fail(EINVAL, "");
  if (!v.is_number()) paths = as_paths(v);
  if (!paths) return expected("true, false, a path or a list of paths", v);
  // An empty list watches nothing, which is what `false` says.
  s.watch = !paths->empty();
  s.watch_paths = std::move(*paths);
  return {};
}

json get_watch(const AppSpec& s) {
  if (s.watch && !s.watch_paths.empty()) return s.watch_paths;
  return s.watch;
}

Status flag_watch(AppSpec& cli, const FlagInput& in) {
  cli.watch = true;
  for (auto& p : split_commas(in.value)) cli.watch_paths.push_back(p);
  return {};
}

// `--watch` without paths keeps the paths the file gives.
void override_watch(AppSpec& app, const AppSpec& cli) {
  app.watch = true;
  if (!cli.watch_paths.empty()) app.watch_paths = cli.watch_paths;
}

Status set_ignore_watch(AppSpec& s, const json& v) {
  auto list = as_paths(v);
  if (!list) return std::unexpected(list.error());
  if (Status ok = validate_ignore_watch(*list); !ok) return ok;
  s.ignore_watch = std::move(*list);
  return {};
}

Status flag_ignore_watch(AppSpec& cli, const FlagInput& in) {
  for (auto& p : split_words(in.value)) cli.ignore_watch.push_back(p);
  if (Status ok = validate_ignore_watch(cli.ignore_watch); !ok) {
    return fail(EINVAL, fmt::format("--ignore-watch: {}", ok.error().context()));
  }
  return {};
}

json jlist_watch_delay(const AppSpec& s) {
  return s.watch ? json(s.watch_delay_ms) : json(nullptr);
}

json jlist_watch(const AppSpec& s) { return s.watch; }

// "" turns it off; anything else must be able to name an environment variable.
Status set_increment_var(AppSpec& s, const json& v) {
  if (v == "") {
    s.increment_var.clear();
    return {};
  }
  return set<&AppSpec::increment_var, &as_env_name>(s, v);
}

// PM2's log_file: a path, true (the combined log in its default place), or false (none).
Status set_log_file(AppSpec& s, const json& v) {
  if (v.is_boolean()) {
    s.log_file = v.get<bool>() ? std::string(kDefaultLogFile) : "";
    return {};
  }
  auto path = as_string(v);
  if (!path) return expected("a path, true or false", v);
  s.log_file = std::move(*path);
  return {};
}

json get_log_file(const AppSpec& s) {
  return s.log_file == kDefaultLogFile ? json(true) : json(s.log_file);
}

// -l/--log [path]: without a path, PM2's default place (as `log_file: true`).
Status flag_log_file(AppSpec& cli, const FlagInput& in) {
  cli.log_file = in.value.empty() ? std::string(kDefaultLogFile) : absolute_in(in.cwd, in.value);
  return {};
}

namespace {

// "js,.json" or ["js", ".json"] -> {"js", "json"}: extensions without their dot.
Result<std::vector<std::string>> watch_extensions(std::vector<std::string> list) {
  std::vector<std::string> out;
  for (std::string& e : list) {
    if (e.starts_with('.')) e.erase(0, 1);
    if (e.empty() || e.find('/') != std::string::npos) {
      return fail(EINVAL, fmt::format("'{}' is not a file extension (\"js\", \"json\")", e));
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

Status set_watch_ext(AppSpec& s, const json& v) {
  auto list = v.is_string() ? Result<std::vector<std::string>>(split_commas(v.get<std::string>()))
                            : as_paths(v);
  if (!list) return expected("extensions: \"js,json\" or a list", v);
  return store<&AppSpec::watch_ext>(s, watch_extensions(std::move(*list)));
}

Status flag_watch_ext(AppSpec& cli, const FlagInput& in) {
  auto list = watch_extensions(split_commas(in.value));
  if (!list) return fail(EINVAL, fmt::format("--ext: {}", list.error().context()));
  cli.watch_ext = std::move(*list);
  return {};
}

json jlist_depends_on(const AppSpec& s) {
  if (s.depends_on.empty()) return nullptr;
  std::string text;
  for (const auto& [name, cond] : s.depends_on) {
    text += (text.empty() ? "" : ", ") + name + " (" + cond + ")";
  }
  return text;
}

}  // namespace herd::manager::detail
