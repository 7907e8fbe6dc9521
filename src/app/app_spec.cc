#include "app/app_spec.h"

#include <fmt/format.h>
#include <signal.h>
#include <string.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cmath>

#include "app/app_name.h"
#include "app/cron.h"
#include "app/watch_filter.h"
#include "base/ascii.h"

namespace herd::manager {
namespace {

using nlohmann::json;

// How a value is named in "expected ..., got ..." messages: scalars as they were written (long
// strings cut short), containers by kind, because dumping a whole object helps nobody.
std::string describe(const json& v) {
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  // A string need not be UTF-8 (YAML, a JS file): shown with U+FFFD, never a throw from dump().
  std::string text = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return text;
}

std::unexpected<Error> expected(std::string_view what, const json& v) {
  return fail(EINVAL, fmt::format("expected {}, got {}", what, describe(v)));
}

using herd::detail::all_digits;
using herd::detail::lower;

// --- Value converters shared by the fields. ---

Result<std::string> as_string(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  // YAML and JS authors write `name: 2048` or `PORT: 3000`; a number is its decimal text.
  if (v.is_number()) return v.dump();
  return expected("a string", v);
}

Result<bool> as_bool(const json& v) {
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_string()) {
    std::string s = lower(v.get<std::string>());
    // YAML 1.1 habits ("yes", "on") reach us as strings from YAML 1.2 parsers.
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
  }
  return expected("true or false", v);
}

// A non-negative integer: a JSON number without a fraction, or a string of digits.
Result<std::uint64_t> as_count(const json& v, std::uint64_t max) {
  std::uint64_t n = 0;
  if (v.is_number_unsigned()) {
    n = v.get<std::uint64_t>();
  } else if (v.is_number_integer()) {
    if (v.get<std::int64_t>() < 0) return expected("a number >= 0", v);
    n = static_cast<std::uint64_t>(v.get<std::int64_t>());
  } else if (v.is_number_float()) {
    double d = v.get<double>();
    if (!(d >= 0) || d != std::floor(d) || d > static_cast<double>(max)) {
      return expected("a whole number >= 0", v);
    }
    n = static_cast<std::uint64_t>(d);
  } else if (v.is_string() && all_digits(v.get<std::string>())) {
    const std::string& s = v.get_ref<const std::string&>();
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc()) return expected("a smaller number", v);
  } else {
    return expected("a number >= 0", v);
  }
  if (n > max) return expected(fmt::format("a number <= {}", max), v);
  return n;
}

Result<int> as_int(const json& v) {
  auto n = as_count(v, INT_MAX);
  if (!n) return std::unexpected(n.error());
  return static_cast<int>(*n);
}

Result<std::uint64_t> as_duration(const json& v) {
  if (v.is_number()) {
    double d = v.get<double>();
    if (!(d >= 0) || d > 1e15) return expected("a duration in ms >= 0", v);
    return static_cast<std::uint64_t>(std::llround(d));
  }
  if (v.is_string()) {
    auto ms = parse_duration_ms(v.get<std::string>());
    if (ms) return ms;
  }
  return expected("a duration (ms, or \"500ms\", \"1s\", \"2m\", \"1h\")", v);
}

Result<std::uint64_t> as_size(const json& v) {
  if (v.is_number()) return as_count(v, UINT64_MAX);
  if (v.is_string()) {
    auto bytes = parse_size(v.get<std::string>());
    if (bytes) return bytes;
  }
  return expected("a size (bytes, or \"512K\", \"300M\", \"1G\")", v);
}

// A list of strings: an array of strings or numbers, or one string. `split` says whether that
// one string is a command line to split (args) or a single item (a path).
Result<std::vector<std::string>> as_string_list(const json& v, bool split) {
  if (v.is_string()) {
    if (split) return split_command_line(v.get<std::string>());
    return std::vector<std::string>{v.get<std::string>()};
  }
  if (v.is_number()) return std::vector<std::string>{v.dump()};
  if (!v.is_array()) return expected(split ? "an array or a string" : "a list of strings", v);
  std::vector<std::string> out;
  for (const json& item : v) {
    if (item.is_string()) {
      out.push_back(item.get<std::string>());
    } else if (item.is_number()) {
      out.push_back(item.dump());
    } else {
      return fail(EINVAL,
                  fmt::format("expected an array of strings, got {} in it", describe(item)));
    }
  }
  return out;
}

Result<std::map<std::string, std::string>> as_env(const json& v) {
  if (!v.is_object()) return expected("an object of NAME: value", v);
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : v.items()) {
    // Node's child_process turns any defined value into a string the same way (null -> "null");
    // objects are written as JSON rather than "[object Object]".
    out[key] = value.is_string() ? value.get<std::string>()
                                 : value.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return out;
}

// --- The field table: one setter per JSON key, in to_json's order. ---

using Setter = Status (*)(AppSpec&, const json&);
struct Field {
  std::string_view key;
  Setter set;
};

template <class T, class F>
Status assign(Result<T> r, F&& store) {
  if (!r) return std::unexpected(r.error());
  store(std::move(*r));
  return {};
}

#define HERD_FIELD(key, conv, member)                                \
  Field {                                                            \
    key, [](AppSpec& s, const json& v) -> Status {                   \
      return assign(conv, [&](auto x) { s.member = std::move(x); }); \
    }                                                                \
  }

const Field kFields[] = {
    {"name",
     [](AppSpec& s, const json& v) -> Status {
       auto name = as_string(v);
       if (!name) return std::unexpected(name.error());
       // "" means "not given": the ecosystem reader and the CLI put the default name there,
       // and Supervisor::start refuses an app that still has none.
       if (!name->empty()) {
         if (Status ok = validate_app_name(*name); !ok) return ok;
       }
       s.name = std::move(*name);
       return {};
     }},
    HERD_FIELD("script", as_string(v), script),
    HERD_FIELD("args", as_string_list(v, true), args),
    HERD_FIELD("interpreter", as_string(v), interpreter),
    HERD_FIELD("interpreter_args", as_string_list(v, true), interpreter_args),
    HERD_FIELD("cwd", as_string(v), cwd),
    HERD_FIELD("env", as_env(v), env),
    HERD_FIELD("app_env", as_env(v), app_env),
    HERD_FIELD("namespace", as_string(v), namespace_),
    {"instances",
     [](AppSpec& s, const json& v) -> Status {
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
     }},
    {"exec_mode",
     [](AppSpec& s, const json& v) -> Status {
       std::string mode = v.is_string() ? v.get<std::string>() : "";
       if (mode == "fork" || mode == "fork_mode") {
         s.exec_mode = ExecMode::kFork;
       } else if (mode == "cluster" || mode == "cluster_mode") {
         s.exec_mode = ExecMode::kCluster;
       } else {
         return expected("\"fork\" or \"cluster\"", v);
       }
       return {};
     }},
    HERD_FIELD("listen", as_string_list(v, false), listen),
    HERD_FIELD("inject", as_bool(v), inject),
    {"socket_mode",
     [](AppSpec& s, const json& v) -> Status {
       if (v != "shared" && v != "reuseport") return expected("\"shared\" or \"reuseport\"", v);
       s.socket_mode = v.get<std::string>();
       return {};
     }},
    {"instance_var",
     [](AppSpec& s, const json& v) -> Status {
       // It becomes an environment variable's name: non-empty, without '=' or NUL.
       auto name = as_string(v);
       if (!name || name->empty() ||
           name->find_first_of(std::string_view("=\0", 2)) != std::string::npos) {
         return expected("an environment variable name (not empty, no '=')", v);
       }
       s.instance_var = std::move(*name);
       return {};
     }},
    HERD_FIELD("autorestart", as_bool(v), autorestart),
    HERD_FIELD("max_restarts", as_int(v), max_restarts),
    HERD_FIELD("min_uptime", as_duration(v), min_uptime_ms),
    HERD_FIELD("restart_delay", as_duration(v), restart_delay_ms),
    HERD_FIELD("exp_backoff_restart_delay", as_duration(v), exp_backoff_restart_delay_ms),
    {"stop_exit_codes",
     [](AppSpec& s, const json& v) -> Status {
       json list = v.is_array() ? v : json::array({v});
       std::vector<int> codes;
       for (const json& item : list) {
         auto code = as_count(item, 255);
         if (!code) return expected("exit codes (0-255): a number or an array of numbers", v);
         codes.push_back(static_cast<int>(*code));
       }
       s.stop_exit_codes = std::move(codes);
       return {};
     }},
    HERD_FIELD("kill_timeout", as_duration(v), kill_timeout_ms),
    {"kill_signal",
     [](AppSpec& s, const json& v) -> Status {
       auto text = as_string(v);
       Result<int> signo = fail(EINVAL, "");
       if (text) signo = parse_signal(*text);
       if (!signo) return expected("a signal name or number (\"SIGINT\", \"SIGTERM\", 15)", v);
       s.kill_signal = signal_name(*signo);
       return {};
     }},
    HERD_FIELD("wait_ready", as_bool(v), wait_ready),
    HERD_FIELD("listen_timeout", as_duration(v), listen_timeout_ms),
    HERD_FIELD("time", as_bool(v), time),
    HERD_FIELD("out_file", as_string(v), out_file),
    HERD_FIELD("error_file", as_string(v), error_file),
    HERD_FIELD("log_file", as_string(v), log_file),
    HERD_FIELD("merge_logs", as_bool(v), merge_logs),
    HERD_FIELD("log_max_size", as_size(v), log_max_size),
    HERD_FIELD("log_max_files", as_int(v), log_max_files),
    HERD_FIELD("max_memory_restart", as_size(v), max_memory_restart),
    {"cron_restart",
     [](AppSpec& s, const json& v) -> Status {
       auto text = as_string(v);
       if (!text) return std::unexpected(text.error());
       // PM2 takes the number 0 for "no cron restart" too.
       if (auto cron = parse_cron_restart(*text); !cron) return std::unexpected(cron.error());
       s.cron_restart = std::move(*text);
       return {};
     }},
    {"watch",
     [](AppSpec& s, const json& v) -> Status {
       if (v.is_boolean()) {
         s.watch = v.get<bool>();
         s.watch_paths.clear();
         return {};
       }
       Result<std::vector<std::string>> paths = fail(EINVAL, "");
       if (!v.is_number()) paths = as_string_list(v, false);
       if (!paths) return expected("true, false, a path or a list of paths", v);
       // An empty list watches nothing, which is what `false` says.
       s.watch = !paths->empty();
       s.watch_paths = std::move(*paths);
       return {};
     }},
    {"ignore_watch",
     [](AppSpec& s, const json& v) -> Status {
       auto list = as_string_list(v, false);
       if (!list) return std::unexpected(list.error());
       if (Status ok = validate_ignore_watch(*list); !ok) return ok;
       s.ignore_watch = std::move(*list);
       return {};
     }},
    HERD_FIELD("watch_delay", as_duration(v), watch_delay_ms),
};

#undef HERD_FIELD

const Field* find_field(std::string_view key) {
  for (const Field& f : kFields) {
    if (f.key == key) return &f;
  }
  return nullptr;
}

}  // namespace

int AppSpec::resolved_instances(int cpus) const {
  if (cpus < 1) cpus = 1;
  if (!validate_instances(instances)) return 1;
  if (instances == "max") return cpus;
  int n = std::stoi(instances);
  if (n == 0) return cpus;
  if (n < 0) return std::max(1, cpus + n);
  return n;
}

Status set_app_field(AppSpec* spec, std::string_view key, const json& value) {
  const Field* field = find_field(key);
  if (field == nullptr) return fail(ENOENT, fmt::format("unknown key \"{}\"", key));
  if (value.is_null()) return {};
  return field->set(*spec, value);
}

bool is_app_field(std::string_view key) { return find_field(key) != nullptr; }

const std::vector<std::string_view>& app_field_names() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> out;
    for (const Field& f : kFields) out.push_back(f.key);
    return out;
  }();
  return names;
}

json to_json(const AppSpec& s) {
  json instances = s.instances;
  if (s.instances != "max" && validate_instances(s.instances)) instances = std::stoi(s.instances);
  json watch = s.watch;
  if (s.watch && !s.watch_paths.empty()) watch = s.watch_paths;
  return json{
      {"name", s.name},
      {"script", s.script},
      {"args", s.args},
      {"interpreter", s.interpreter},
      {"interpreter_args", s.interpreter_args},
      {"cwd", s.cwd},
      {"env", s.env},
      {"app_env", s.app_env},
      {"namespace", s.namespace_},
      {"instances", instances},
      {"exec_mode", s.exec_mode == ExecMode::kCluster ? "cluster" : "fork"},
      {"listen", s.listen},
      {"socket_mode", s.socket_mode},
      {"inject", s.inject},
      {"instance_var", s.instance_var},
      {"autorestart", s.autorestart},
      {"max_restarts", s.max_restarts},
      {"min_uptime", s.min_uptime_ms},
      {"restart_delay", s.restart_delay_ms},
      {"exp_backoff_restart_delay", s.exp_backoff_restart_delay_ms},
      {"stop_exit_codes", s.stop_exit_codes},
      {"kill_timeout", s.kill_timeout_ms},
      {"kill_signal", s.kill_signal},
      {"wait_ready", s.wait_ready},
      {"listen_timeout", s.listen_timeout_ms},
      {"time", s.time},
      {"out_file", s.out_file},
      {"error_file", s.error_file},
      {"log_file", s.log_file},
      {"merge_logs", s.merge_logs},
      {"log_max_size", s.log_max_size},
      {"log_max_files", s.log_max_files},
      {"max_memory_restart", s.max_memory_restart},
      {"cron_restart", s.cron_restart},
      {"watch", watch},
      {"ignore_watch", s.ignore_watch},
      {"watch_delay", s.watch_delay_ms},
  };
}

Result<AppSpec> app_spec_from_json(const json& j) {
  if (!j.is_object()) return std::unexpected(expected("an app object", j).error());
  AppSpec spec;
  for (const auto& [key, value] : j.items()) {
    if (!is_app_field(key)) continue;
    auto ok = set_app_field(&spec, key, value);
    if (!ok) return fail(EINVAL, fmt::format("{}: {}", key, ok.error().context()));
  }
  return spec;
}

std::string input_error_message(const Error& e) {
  return e.code() == EINVAL ? e.context() : e.message();
}

}  // namespace herd::manager
