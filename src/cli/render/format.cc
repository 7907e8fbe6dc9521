#include "cli/render/format.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "app/app_settings.h"
#include "cli/render/table.h"

namespace herd::cli {
namespace {

using nlohmann::json;

// SGR styles, chosen to look like PM2's (chalk) output.
constexpr const char* kBoldCyan = "1;36";
constexpr const char* kBoldGreen = "1;32";
constexpr const char* kBoldRed = "1;31";
constexpr const char* kBoldYellow = "1;33";
constexpr const char* kBoldBlue = "1;34";
constexpr const char* kBold = "1";
constexpr const char* kGrey = "90";
constexpr const char* kInverseBold = "1;7";
constexpr const char* kItalic = "3";

constexpr const char* kNotAvailable = "N/A";

// The member `key` of `obj`, or nullptr when `obj` is not an object or has no such member.
// Every lookup goes through here so that a malformed jlist can never throw.
const json* member(const json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

const json* env_member(const json& instance, std::string_view key) {
  const json* env = member(instance, "pm2_env");
  return env ? member(*env, key) : nullptr;
}

std::optional<double> number(const json* v) {
  if (v == nullptr || !v->is_number()) return std::nullopt;
  return v->get<double>();
}

// A JSON number as an integer; floats are truncated, out-of-range values clamped.
std::optional<std::int64_t> integer(const json* v) {
  if (v == nullptr || !v->is_number()) return std::nullopt;
  if (v->is_number_unsigned()) {
    const auto u = v->get<std::uint64_t>();
    return u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
               ? std::numeric_limits<std::int64_t>::max()
               : static_cast<std::int64_t>(u);
  }
  if (v->is_number_integer()) return v->get<std::int64_t>();
  const double d = v->get<double>();
  if (std::isnan(d)) return std::nullopt;
  if (d >= 9.2e18) return std::numeric_limits<std::int64_t>::max();
  if (d <= -9.2e18) return std::numeric_limits<std::int64_t>::min();
  return static_cast<std::int64_t>(d);
}

// How a scalar shows in a cell; missing and null read "N/A" (PM2's safe_push). Arrays join
// their elements with `separator`. The result is sanitized.
std::string text(const json* v, std::string_view separator = " ") {
  if (v == nullptr || v->is_null()) return kNotAvailable;
  if (v->is_string()) return sanitize(v->get_ref<const std::string&>());
  if (v->is_boolean()) return v->get<bool>() ? "true" : "false";
  if (v->is_array()) {
    std::string out;
    for (const auto& e : *v) {
      if (!out.empty()) out += separator;
      out += text(&e, separator);
    }
    return out.empty() ? kNotAvailable : out;
  }
  if (v->is_number_float()) {
    const double d = v->get<double>();
    // JavaScript prints an integral double without a fraction; so do we.
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) {
      return std::to_string(static_cast<std::int64_t>(d));
    }
  }
  return sanitize(v->dump());
}

std::string string_or(const json* v, std::string fallback) {
  if (v == nullptr || !v->is_string() || v->get_ref<const std::string&>().empty()) {
    return fallback;
  }
  return sanitize(v->get_ref<const std::string&>());
}

// JavaScript truthiness, for PM2 fields such as `watch` (a bool, a path or a list of paths).
bool truthy(const json* v) {
  if (v == nullptr || v->is_null()) return false;
  if (v->is_boolean()) return v->get<bool>();
  if (v->is_number()) return v->get<double>() != 0;
  if (v->is_string() || v->is_array() || v->is_object()) return !v->empty();
  return true;
}

std::string name_of(const json& instance) {
  const json* name = env_member(instance, "name");
  return string_or(name ? name : member(instance, "name"), kNotAvailable);
}

const json* id_of(const json& instance) {
  const json* id = env_member(instance, "pm_id");
  return id ? id : member(instance, "pm_id");
}

std::string status_of(const json& instance) {
  return string_or(env_member(instance, "status"), kNotAvailable);
}

Cell status_cell(const json& instance) {
  std::string status = status_of(instance);
  std::string style;
  // A reload's replacement is starting next to this instance (herd's "reloading" flag).
  if (status == "online" && truthy(env_member(instance, "reloading"))) {
    return Cell("reloading", kBoldYellow);
  }
  // A health check's verdict on an online instance (pm2_env.health.status).
  const json* health = env_member(instance, "health");
  const json* verdict = health ? member(*health, "status") : nullptr;
  if (status == "online" && verdict && verdict->is_string() && *verdict == "unhealthy") {
    return Cell("online (unhealthy)", kBoldRed);
  }
  if (status == "online") {
    style = kBoldGreen;
  } else if (status == "stopped" || status == "stopping") {
    style = kGrey;
  } else if (status == "errored") {
    style = kBoldRed;
  } else if (status == "launching" || status == "waiting restart" ||
             status == "one-launch-status") {
    style = kBoldYellow;
  }
  return Cell(status == "online" ? status + diagnostic_marks(instance) : status, std::move(style));
}

// Uptime is meaningful only while online; PM2 shows 0 for every other state.
std::string uptime_of(const json& instance, std::int64_t now_ms) {
  const auto started = integer(env_member(instance, "pm_uptime"));
  if (!started || *started <= 0 || status_of(instance) != "online") return "0";
  return format_uptime(now_ms - *started);
}

std::string restarts_of(const json& instance) {
  const auto restarts = integer(env_member(instance, "restart_time"));
  return std::to_string(restarts.value_or(0));
}

std::string cpu_of(const json& instance) {
  const json* monit = member(instance, "monit");
  const auto cpu = monit ? number(member(*monit, "cpu")) : std::nullopt;
  return cpu ? format_cpu(*cpu) : kNotAvailable;
}

std::string memory_of(const json& instance) {
  const json* monit = member(instance, "monit");
  const auto bytes = monit ? integer(member(*monit, "memory")) : std::nullopt;
  if (!bytes || *bytes < 0) return kNotAvailable;
  return format_memory(static_cast<std::uint64_t>(*bytes));
}

std::string user_of(const json& instance) {
  const json* user = env_member(instance, "username");
  if (user && user->is_string() && !user->empty()) return text(user);
  const json* uid = env_member(instance, "uid");
  return uid ? text(uid) : kNotAvailable;
}

// An argument as a shell would need it typed, so that "script args" shows where each argument
// begins and ends: plain words as is, anything else in single quotes.
std::string quote_arg(const std::string& arg) {
  constexpr std::string_view kSpecial = " \t\n'\"\\$`*?[]{}()<>|&;#~";
  if (!arg.empty() && arg.find_first_of(kSpecial) == std::string::npos) return arg;
  std::string out = "'";
  for (char c : arg) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string args_text(const json* v) {
  if (v == nullptr || v->is_null()) return kNotAvailable;
  if (!v->is_array()) return text(v);
  std::string out;
  for (const auto& a : *v) {
    if (!out.empty()) out += ' ';
    out += a.is_string() ? sanitize(quote_arg(a.get<std::string>())) : text(&a);
  }
  return out.empty() ? kNotAvailable : out;
}

// A setting's row in `describe`, with the label and format the settings table gives it; false
// (no row) when the setting has none, or shows only when set and is not.
bool add_setting_row(std::vector<std::pair<std::string, Cell>>* rows, const json& instance,
                     std::string_view key) {
  const manager::AppSetting* setting = manager::find_setting(key);
  if (setting == nullptr) return false;
  const manager::SettingDisplay& d = setting->display;
  const json* v = d.pm2_name.empty() ? nullptr : env_member(instance, d.pm2_name);
  if (v == nullptr && !d.pm2_env_key.empty()) v = env_member(instance, d.pm2_env_key);
  Cell cell;
  switch (d.format) {
    case manager::DescribeFormat::kNone:
      return false;
    case manager::DescribeFormat::kText:
      cell = Cell(text(v));
      break;
    case manager::DescribeFormat::kTextOrDefault: {
      const json fallback = setting_default(*setting);
      cell = Cell(string_or(v, text(&fallback)));
      break;
    }
    case manager::DescribeFormat::kTextWhenSet:
      if (v == nullptr || v->is_null()) return false;
      cell = Cell(text(v));
      break;
    case manager::DescribeFormat::kArgs:
      cell = Cell(args_text(v));
      break;
    case manager::DescribeFormat::kList:
      cell = Cell(text(v, ", "));
      break;
    case manager::DescribeFormat::kBytesWhenSet: {
      if (!truthy(v)) return false;
      const auto bytes = integer(v);
      cell =
          Cell(bytes && *bytes > 0 ? format_memory(static_cast<std::uint64_t>(*bytes)) : text(v));
      break;
    }
    case manager::DescribeFormat::kCheck:
      cell = truthy(v) ? Cell("✔", kBoldGreen) : Cell("✘");
      break;
  }
  rows->emplace_back(std::string(d.label), std::move(cell));
  return true;
}

// ---- `ls` ----------------------------------------------------------------------------------

struct Column {
  const char* title;
  bool condensed;  // Kept when the table must fit a narrow terminal.
  std::function<Cell(const json&, const FormatOptions&)> cell;
};

const std::vector<Column>& list_columns() {
  static const std::vector<Column> kColumns = {
      {"id", true,
       [](const json& i, const FormatOptions&) { return Cell(text(id_of(i)), kBoldCyan); }},
      {"name", true,
       [](const json& i, const FormatOptions&) { return Cell(name_of(i), kBoldCyan); }},
      {"namespace", false,
       [](const json& i, const FormatOptions&) {
         return Cell(string_or(env_member(i, "namespace"), "default"));
       }},
      {"version", false,
       [](const json& i, const FormatOptions&) {
         return Cell(string_or(env_member(i, "version"), kNotAvailable));
       }},
      {"mode", true,
       [](const json& i, const FormatOptions&) {
         const json* mode = env_member(i, "exec_mode");
         const bool cluster = mode && mode->is_string() && *mode == "cluster_mode";
         return cluster ? Cell("cluster", kBoldBlue) : Cell("fork", kInverseBold);
       }},
      {"pid", true,
       [](const json& i, const FormatOptions&) { return Cell(text(member(i, "pid"))); }},
      {"uptime", true,
       [](const json& i, const FormatOptions& o) { return Cell(uptime_of(i, o.now_ms)); }},
      {"↺", true, [](const json& i, const FormatOptions&) { return Cell(restarts_of(i)); }},
      {"status", true, [](const json& i, const FormatOptions&) { return status_cell(i); }},
      {"cpu", true, [](const json& i, const FormatOptions&) { return Cell(cpu_of(i)); }},
      {"mem", true, [](const json& i, const FormatOptions&) { return Cell(memory_of(i)); }},
      {"user", false, [](const json& i, const FormatOptions&) { return Cell(user_of(i), kBold); }},
      {"watching", false,
       [](const json& i, const FormatOptions&) {
         return truthy(env_member(i, "watch")) ? Cell("enabled", kBoldGreen)
                                               : Cell("disabled", kGrey);
       }},
  };
  return kColumns;
}

// A sort key: numeric fields compare by `num`, text fields by `str`. A missing number sorts
// before every present one.
struct SortKey {
  double num = 0;
  std::string str;
  auto operator<=>(const SortKey&) const = default;
};

std::function<SortKey(const json&)> sort_key(std::string_view field) {
  auto numeric = [](std::function<const json*(const json&)> get) {
    return [get](const json& i) {
      return SortKey{number(get(i)).value_or(-std::numeric_limits<double>::infinity()), {}};
    };
  };
  auto monit = [](const char* key) {
    return [key](const json& i) -> const json* {
      const json* m = member(i, "monit");
      return m ? member(*m, key) : nullptr;
    };
  };
  if (field == "id") return numeric(id_of);
  if (field == "pid") return numeric([](const json& i) { return member(i, "pid"); });
  if (field == "cpu") return numeric(monit("cpu"));
  if (field == "memory") return numeric(monit("memory"));
  if (field == "uptime") {
    return numeric([](const json& i) { return env_member(i, "pm_uptime"); });
  }
  if (field == "status") return [](const json& i) { return SortKey{0, status_of(i)}; };
  if (field == "namespace") {
    return [](const json& i) {
      return SortKey{0, string_or(env_member(i, "namespace"), "default")};
    };
  }
  return [](const json& i) { return SortKey{0, name_of(i)}; };
}

// Sorts `list` stably by `key`, computed once an instance (per comparison, it was a fifth of ls).
void stable_sort_by(std::vector<const json*>& list, std::string_view field, bool descending) {
  std::vector<std::pair<SortKey, const json*>> keyed;
  auto key = sort_key(field);
  for (const json* i : list) keyed.emplace_back(key(*i), i);
  std::stable_sort(keyed.begin(), keyed.end(), [descending](const auto& a, const auto& b) {
    return descending ? b.first < a.first : a.first < b.first;
  });
  for (std::size_t n = 0; n < keyed.size(); ++n) list[n] = keyed[n].second;
}

// The instances in display order: by pm_id first, then (stably) by the requested field.
std::vector<const json*> sorted_instances(const json& jlist, std::string_view sort) {
  std::vector<const json*> out;
  if (!jlist.is_array()) return out;
  for (const auto& e : jlist) {
    if (e.is_object()) out.push_back(&e);
  }
  stable_sort_by(out, "id", false);

  std::string_view field = sort;
  bool descending = false;
  if (auto colon = sort.find(':'); colon != std::string_view::npos) {
    field = sort.substr(0, colon);
    descending = sort.substr(colon + 1) == "desc";
  }
  static constexpr std::string_view kFields[] = {"name", "id",     "namespace", "pid",
                                                 "cpu",  "memory", "uptime",    "status"};
  if (std::find(std::begin(kFields), std::end(kFields), field) == std::end(kFields)) {
    field = "name";
    descending = false;
  }
  stable_sort_by(out, field, descending);
  return out;
}

std::string render_list(const std::vector<const json*>& instances, const FormatOptions& o,
                        bool condensed) {
  std::vector<Cell> header;
  for (const auto& c : list_columns()) {
    if (!condensed || c.condensed) header.emplace_back(c.title, kBoldCyan);
  }
  Table table(std::move(header));
  for (const json* instance : instances) {
    std::vector<Cell> row;
    for (const auto& c : list_columns()) {
      if (!condensed || c.condensed) row.push_back(c.cell(*instance, o));
    }
    table.add_row(std::move(row));
  }
  return table.render(o.color);
}

std::string styled(std::string_view s, const char* style, bool color) {
  if (!color) return std::string(s);
  return fmt::format("\x1b[{}m{}\x1b[0m", style, s);
}

// A name or id as it would be typed after a verb.
std::string as_argument(const std::string& s) {
  return s.find(' ') == std::string::npos ? s : "\"" + s + "\"";
}

}  // namespace

std::string format_list(const nlohmann::json& jlist, const FormatOptions& o) {
  const auto instances = sorted_instances(jlist, o.sort);
  std::string out = render_list(instances, o, /*condensed=*/false);
  if (o.width > 0) {
    const std::size_t first_line = out.find('\n');
    if (display_width(std::string_view(out).substr(0, first_line)) >
        static_cast<std::size_t>(o.width)) {
      out = render_list(instances, o, /*condensed=*/true);
    }
  }
  if (instances.empty()) {
    out += "no app running — start one with `herd start <script|cmd|ecosystem>`\n";
  }
  return out;
}

std::string format_describe(const nlohmann::json& instance, const FormatOptions& o) {
  const std::string name = name_of(instance);
  const std::string id = text(id_of(instance));
  auto env = [&](std::string_view key) { return env_member(instance, key); };

  std::vector<std::pair<std::string, Cell>> rows;
  auto add = [&](std::string key, Cell value) {
    rows.emplace_back(std::move(key), std::move(value));
  };
  add("status", status_cell(instance));
  add("name", name);
  add_setting_row(&rows, instance, "namespace");
  add("version", string_or(env("version"), kNotAvailable));
  add("restarts", restarts_of(instance));
  if (const json* reloads = env("reloads"); reloads != nullptr) add("reloads", text(reloads));
  if (truthy(env("reloading"))) {
    add("reload", fmt::format("in progress: replacement pid {}", text(env("replacement_pid"))));
  }
  // PM2 shows these three only when they are set, in these places.
  add_setting_row(&rows, instance, "max_memory_restart");
  if (add_setting_row(&rows, instance, "cron_restart")) {
    if (const auto next = integer(env("next_cron_restart")); next) {
      add("next cron restart", format_iso8601(*next));
    }
  }
  add("uptime", uptime_of(instance, o.now_ms));
  if (env("pm_log_path") && !env("pm_log_path")->is_null()) {
    add("entire log path", text(env("pm_log_path")));
  }
  add_setting_row(&rows, instance, "script");
  add_setting_row(&rows, instance, "args");
  add("error log path", text(env("pm_err_log_path")));
  add("out log path", text(env("pm_out_log_path")));
  add("pid path", text(env("pm_pid_path")));
  add_setting_row(&rows, instance, "interpreter");
  add_setting_row(&rows, instance, "interpreter_args");
  add("script id", id);
  for (std::string_view key : {"cwd", "exec_mode", "listen", "depends_on"}) {
    add_setting_row(&rows, instance, key);
  }
  add("status text", string_or(env("status_text"), kNotAvailable));
  add_setting_row(&rows, instance, "watchdog");
  for (auto& [label, value] : supervision_rows(instance)) add(std::move(label), std::move(value));
  if (const json* log_error = env("log_error");
      log_error && log_error->is_string() && !log_error->get<std::string>().empty()) {
    add("log error", log_error->get<std::string>());
  }
  const json* vars = env("env");
  add("node env", text(vars ? member(*vars, "NODE_ENV") : nullptr));
  add_setting_row(&rows, instance, "watch");
  add("unstable restarts", text(env("unstable_restarts")));
  add("exit code", text(env("exit_code")));
  const auto created = integer(env("created_at"));
  add("created at", created ? format_iso8601(*created) : kNotAvailable);

  Table table;
  for (auto& [key, value] : rows) table.add_row({Cell(key, kBoldCyan), std::move(value)});

  const std::string title = fmt::format("Describing process with id {} - name {}", id, name);
  std::string out = o.color ? styled(" " + title + " ", kInverseBold, true) : title;
  out += '\n';
  out += table.render(o.color) + format_code_metrics(instance, o.color);
  out +=
      styled(fmt::format(" Use `herd logs {} [--lines 1000]` to display logs", as_argument(name)),
             kItalic, o.color);
  out += '\n';
  out += styled(fmt::format(" Use `herd env {}` to display environment variables", id), kItalic,
                o.color);
  out += '\n';
  return out;
}

}  // namespace herd::cli
