#include "app/ecosystem.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "app/app_name.h"
#include "app/depends.h"
#include "app/ecosystem_keys.h"
#include "app/ecosystem_reader.h"

namespace herd::manager {
namespace {

namespace fs = std::filesystem;
using detail::SourceDoc;
using detail::SourcePos;
using nlohmann::json;

std::string expand_home(const std::string& path, const std::map<std::string, std::string>& env) {
  if (path != "~" && !path.starts_with("~/")) return path;
  auto home = env.find("HOME");
  const char* h = home != env.end() ? home->second.c_str() : std::getenv("HOME");
  return h == nullptr ? path : std::string(h) + path.substr(1);
}

std::string resolve_in(const std::string& dir, const std::string& path) {
  if (path.empty()) return path;
  return (fs::path(dir) / path).lexically_normal().string();
}

// Everything one load needs to say where a problem is.
struct Loader {
  std::string name;      // the file as the user named it
  std::string base_dir;  // its directory
  const EcosystemOptions& opts;
  const SourceDoc& doc;
  std::vector<std::string> warnings;

  std::string at(const std::string& lookup) const {
    auto it = doc.positions.find(lookup);
    if (it == doc.positions.end() || it->second.line == 0) return name;
    return fmt::format("{}:{}:{}", name, it->second.line, it->second.column);
  }
};

// One app of the file. `lookup` is its path in doc.positions, `label` how people see it.
struct AppRef {
  std::size_t index;
  std::string lookup;
  std::string label;  // "apps[1]"
  std::string key_lookup(std::string_view key) const { return detail::child_path(lookup, key); }
};

Status app_error(const Loader& l, const AppRef& app, std::string_view key, std::string_view why) {
  if (key.empty()) return fail(EINVAL, fmt::format("{}: {}: {}", l.at(app.lookup), app.label, why));
  return fail(EINVAL, fmt::format("{}: {}.{}: {}", l.at(app.key_lookup(key)), app.label, key, why));
}

// PM2's filter_env (lib/Common.js, filterEnv): true drops the CLI's whole environment; a string
// drops the variable of that name; a list drops every variable whose name contains one of them.
Result<std::map<std::string, std::string>> filtered_base_env(const Loader& l, const AppRef& app,
                                                             const json* filter) {
  std::map<std::string, std::string> env = l.opts.base_env;
  if (filter == nullptr || filter->is_null() || *filter == false) return env;
  if (*filter == true) return std::map<std::string, std::string>{};
  if (filter->is_string()) {
    env.erase(filter->get<std::string>());
    return env;
  }
  std::vector<std::string> parts;
  if (filter->is_array()) {
    for (const json& p : *filter) {
      if (p.is_string()) parts.push_back(p.get<std::string>());
    }
  }
  if (!filter->is_array() || parts.size() != filter->size()) {
    return std::unexpected(
        app_error(l, app, "filter_env", "expected true, false, a name or a list of names").error());
  }
  return drop_env_containing(std::move(env), parts);
}

// An app's keys sorted out: fields (under their own name or an alias), env sections, herd-read
// keys; keys to ignore and unknown keys only give warnings.
struct AppKeys {
  json fields = json::object();
  std::map<std::string, std::string> spelled;  // field -> the key the file used for it
  std::map<std::string, const json*> env_sections;
  std::map<std::string, const json*> mapped;

  const json* find_mapped(std::string_view key) const {
    auto it = mapped.find(std::string(key));
    return it == mapped.end() ? nullptr : it->second;
  }
};

using Warn = std::function<void(std::string_view key, const std::string& what)>;

AppKeys sort_keys(const Loader& l, const json& raw, const AppRef& app, const Warn& warn) {
  AppKeys out;
  json& fields = out.fields;
  std::map<std::string, std::string>& spelled = out.spelled;
  // In the file's order (JSON objects come back sorted by key), so that warnings read top down.
  std::vector<std::string> keys;
  for (const auto& item : raw.items()) keys.push_back(item.key());
  auto order = [&](const std::string& key) {
    auto it = l.doc.positions.find(app.key_lookup(key));
    if (it == l.doc.positions.end()) return std::pair{INT_MAX, INT_MAX};
    return std::pair{it->second.line, it->second.column};
  };
  std::stable_sort(keys.begin(), keys.end(),
                   [&](const std::string& a, const std::string& b) { return order(a) < order(b); });
  for (const std::string& key : keys) {
    const json& value = raw[key];
    detail::KeyClass kind = detail::classify_key(key);
    switch (kind.kind) {
      case detail::KeyKind::kEnvSection:
        out.env_sections[kind.detail] = &value;
        break;
      case detail::KeyKind::kMapped:
        out.mapped[key] = &value;
        break;
      case detail::KeyKind::kField:
      case detail::KeyKind::kAlias: {
        const std::string& field = kind.detail;
        if (fields.contains(field)) {
          // Two spellings of one field: its own name wins over an alias, whatever the order.
          bool own = key == field;
          std::string loser = own ? spelled[field] : key;
          std::string winner = own ? key : spelled[field];
          warn(loser, fmt::format("\"{}\" and \"{}\" both set {}; \"{}\" is ignored", loser, winner,
                                  field, loser));
          if (!own) break;
        }
        fields[field] = value;
        spelled[field] = key;
        break;
      }
      case detail::KeyKind::kIgnored:
        warn(key, fmt::format("{} {}; ignored", key, kind.detail));
        break;
      case detail::KeyKind::kUnknown:
        warn(key, kind.detail.empty()
                      ? fmt::format("unknown key \"{}\" (ignored)", key)
                      : fmt::format("unknown key \"{}\" (ignored; did you mean \"{}\"?)", key,
                                    kind.detail));
        break;
    }
  }

  return out;
}

// env = the CLI's environment + env + env_<name> (+ PORT from `port`): PM2's order, the later
// wins. app_env: what the file itself sets, for --update-env.
Status resolve_env(const Loader& l, const AppRef& app, const AppKeys& keys, AppSpec* spec) {
  auto env = filtered_base_env(l, app, keys.find_mapped("filter_env"));
  if (!env) return std::unexpected(env.error());
  std::map<std::string, std::string> own;  // what the file itself sets, for --update-env
  auto merge_env = [&](const std::string& key, const json* section) -> Status {
    AppSpec scratch;
    auto ok = set_app_field(&scratch, "env", *section);
    if (!ok) return app_error(l, app, key, ok.error().context());
    for (auto& [k, v] : scratch.env) (*env)[k] = own[k] = v;
    return {};
  };
  if (const json* e = keys.find_mapped("env")) {
    if (auto ok = merge_env("env", e); !ok) return ok;
  }
  for (const auto& [env_name, section] : keys.env_sections) {
    // Every section is checked, so a broken env_production fails before the day it is used.
    AppSpec scratch;
    if (auto ok = set_app_field(&scratch, "env", *section); !ok) {
      return app_error(l, app, "env_" + env_name, ok.error().context());
    }
  }
  if (auto it = keys.env_sections.find(l.opts.env_name); it != keys.env_sections.end()) {
    if (auto ok = merge_env("env_" + it->first, it->second); !ok) return ok;
  }
  if (const json* port = keys.find_mapped("port"); port != nullptr && !port->is_null()) {
    if (!port->is_number_unsigned() && !port->is_string()) {
      return app_error(l, app, "port", "expected a port number");
    }
    (*env)["PORT"] = own["PORT"] = port->is_string() ? port->get<std::string>() : port->dump();
  }
  spec->env = std::move(*env);
  spec->app_env = std::move(own);
  if (auto counted = increment_var_value(*spec, 0); !counted) {
    return app_error(l, app, keys.spelled.at("increment_var"), counted.error().context());
  }
  return {};
}

Result<AppSpec> load_app(Loader& l, const json& raw, const AppRef& app) {
  if (!raw.is_object()) {
    // Shown with U+FFFD where it is not UTF-8 (YAML takes any bytes): dump() would throw.
    std::string got =
        raw.is_array() ? "an array" : raw.dump(-1, ' ', false, json::error_handler_t::replace);
    return std::unexpected(
        app_error(l, app, "", fmt::format("expected an app object, got {}", got)).error());
  }
  // Warnings name the app as "apps[1] (api)"; the name may still be the script's default.
  std::string shown = app.label;
  if (raw.contains("name") && raw["name"].is_string()) {
    shown = fmt::format("{} ({})", app.label, raw["name"].get<std::string>());
  } else if (raw.contains("script") && raw["script"].is_string()) {
    shown = fmt::format("{} ({})", app.label, default_app_name(raw["script"].get<std::string>()));
  }
  auto warn = [&](std::string_view key, const std::string& what) {
    l.warnings.push_back(fmt::format("{}: {}: {}", l.at(app.key_lookup(key)), shown, what));
  };

  AppKeys keys = sort_keys(l, raw, app, warn);
  json& fields = keys.fields;
  std::map<std::string, std::string>& spelled = keys.spelled;
  auto find_mapped = [&](std::string_view key) { return keys.find_mapped(key); };

  if (!fields.contains("script") || fields["script"].is_null() || fields["script"] == "") {
    return std::unexpected(
        app_error(l, app, "", "script is required (the program to run)").error());
  }
  AppSpec spec;
  for (const auto& [field, value] : fields.items()) {
    auto ok = set_app_field(&spec, field, value);
    if (!ok)
      return std::unexpected(app_error(l, app, spelled[field], ok.error().context()).error());
  }

  if (Status ok = resolve_env(l, app, keys, &spec); !ok) return std::unexpected(ok.error());

  // Paths: cwd against the file's directory (the file's directory when absent), the rest
  // against cwd, so that the daemon, which runs elsewhere, finds the same files.
  spec.cwd = resolve_in(l.base_dir, expand_home(spec.cwd, spec.env));
  if (spec.cwd.empty()) spec.cwd = l.base_dir;
  for (std::string* p : {&spec.out_file, &spec.error_file, &spec.log_file}) {
    if (*p == kDefaultLogFile && p == &spec.log_file) continue;  // log_file: true
    *p = resolve_in(spec.cwd, expand_home(*p, spec.env));
  }
  if (const json* off = find_mapped("disable_logs"); off != nullptr && *off == true) {
    spec.out_file = spec.error_file = "/dev/null";
  }

  if (spec.name.empty()) spec.name = default_app_name(spec.script);
  if (const json* append = find_mapped("append_env_to_name");
      append != nullptr && *append == true && !l.opts.env_name.empty()) {
    spec.name += "-" + l.opts.env_name;
  }
  if (Status ok = validate_app_name(spec.name); !ok) {
    return std::unexpected(app_error(l, app, "", ok.error().context()).error());
  }
  // More than one instance, or `listen`, means cluster mode unless exec_mode says otherwise
  // (PM2: instances > 1 runs a Node app in cluster mode).
  if (!fields.contains("exec_mode") && (!spec.listen.empty() || spec.instances != "1")) {
    spec.exec_mode = ExecMode::kCluster;
  }
  return spec;
}

// Splits "--only a,b" entries into names.
std::vector<std::string> only_names(const std::vector<std::string>& only) {
  std::vector<std::string> names;
  for (const std::string& entry : only) {
    std::stringstream in(entry);
    std::string name;
    while (std::getline(in, name, ',')) {
      if (!name.empty()) names.push_back(name);
    }
  }
  return names;
}

// Where a file's apps are: {"apps": [...]} (or one app object under "apps"), a list of apps, or
// one app with a script. Unknown top-level keys are warnings in `l`.
struct AppsLocation {
  const json* apps = nullptr;
  std::string prefix;  // where the apps are in doc.positions
  bool single = false;
};

Result<AppsLocation> locate_apps(const SourceDoc& doc, const std::string& name, Loader& l) {
  const json& root = doc.root;
  const json* apps = nullptr;
  std::string prefix;
  bool single = false;
  if (root.is_null()) return fail(EINVAL, fmt::format("{}: the file is empty", name));
  if (root.is_array()) {
    apps = &root;
  } else if (root.is_object() && (root.contains("apps") || root.contains("pm2"))) {
    // PM2 reads `pm2` when there is no `apps` (lib/API.js, _startJson).
    prefix = root.contains("apps") ? "apps" : "pm2";
    apps = &root[prefix];
    single = apps->is_object();
    for (const auto& [key, value] : root.items()) {
      if (key == prefix) continue;
      l.warnings.push_back(
          key == "deploy"
              ? fmt::format("{}: deploy is PM2's deploy system, which herd does not have; ignored",
                            l.at(key))
              : fmt::format("{}: unknown top-level key \"{}\" (ignored)", l.at(key), key));
    }
    if (!apps->is_array() && !single) {
      return fail(EINVAL,
                  fmt::format("{}: {}: expected a list of apps, got {}", l.at(prefix), prefix,
                              apps->dump(-1, ' ', false, json::error_handler_t::replace)));
    }
  } else if (root.is_object() && (root.contains("script") || root.contains("exec") ||
                                  root.contains("cmd") || root.contains("command"))) {
    apps = &root;
    single = true;
  } else {
    return fail(EINVAL, fmt::format("{}: no apps: expected {{\"apps\": [...]}}, a list of apps, "
                                    "or one app with a script",
                                    name));
  }
  return AppsLocation{apps, prefix, single};
}

Result<EcosystemResult> resolve(const SourceDoc& doc, const std::string& name,
                                const std::string& base_dir, const EcosystemOptions& opts) {
  Loader l{name, base_dir, opts, doc, {}};
  auto where = locate_apps(doc, name, l);
  if (!where) return std::unexpected(where.error());
  const json* apps = where->apps;
  const std::string& prefix = where->prefix;
  bool single = where->single;
  std::size_t count = single ? 1 : apps->size();
  if (count == 0) return fail(EINVAL, fmt::format("{}: no apps in the file", name));

  for (const auto& [path, pos] : doc.duplicate_keys) {
    l.warnings.push_back(fmt::format("{}:{}:{}: {} is given twice; the last one counts", name,
                                     pos.line, pos.column, path));
  }

  std::vector<AppSpec> specs;
  // The names as the file gives them, before append_env_to_name adds "-<env>": --only uses them.
  std::vector<std::string> file_names;
  std::vector<std::vector<std::string>> app_warnings;
  std::size_t file_warnings = l.warnings.size();
  bool env_found = opts.env_name.empty();
  for (std::size_t i = 0; i < count; ++i) {
    AppRef app{i, single ? prefix : detail::element_path(prefix, i),
               detail::element_path("apps", i)};
    const json& raw = single ? *apps : (*apps)[i];
    std::size_t before = l.warnings.size();
    auto spec = load_app(l, raw, app);
    if (!spec) return std::unexpected(spec.error());
    env_found = env_found || raw.contains("env_" + opts.env_name);
    file_names.push_back(raw.contains("name") && raw["name"].is_string()
                             ? raw["name"].get<std::string>()
                             : default_app_name(spec->script));
    specs.push_back(std::move(*spec));
    app_warnings.emplace_back(l.warnings.begin() + before, l.warnings.end());
    l.warnings.resize(before);
  }

  // A cycle or an app depending on itself is refused here; a name the file does not have may be
  // an app the daemon runs, which the daemon checks when the apps reach it.
  if (Status s = check_dependencies(specs, [](const std::string&) { return true; }); !s) {
    return fail(EINVAL, fmt::format("{}: {}", name, s.error().context()));
  }

  EcosystemResult result;
  result.warnings.assign(l.warnings.begin(), l.warnings.begin() + file_warnings);
  if (!env_found) {
    result.warnings.push_back(fmt::format("{}: --env {}: no app has env_{}; only env applies", name,
                                          opts.env_name, opts.env_name));
  }
  std::vector<std::string> only = only_names(opts.only);
  std::set<std::string> matched;
  std::set<std::string> seen_names;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    auto chosen = std::find_if(only.begin(), only.end(), [&](const std::string& n) {
      return n == file_names[i] || n == specs[i].name;
    });
    if (!only.empty() && chosen == only.end()) continue;
    if (chosen != only.end()) matched.insert(*chosen);
    if (!seen_names.insert(specs[i].name).second) {
      result.warnings.push_back(
          fmt::format("{}: apps[{}]: another app is named \"{}\" too", name, i, specs[i].name));
    }
    result.warnings.insert(result.warnings.end(), app_warnings[i].begin(), app_warnings[i].end());
    result.apps.push_back(std::move(specs[i]));
  }
  std::vector<std::string> unknown;
  for (const std::string& n : only) {
    if (!matched.count(n)) unknown.push_back(n);
  }
  if (!unknown.empty()) {
    return fail(EINVAL, fmt::format("{}: --only: no app named {} (the file has: {})", name,
                                    fmt::join(unknown, ", "), fmt::join(file_names, ", ")));
  }
  return result;
}

bool ends_with_any(std::string_view s, std::initializer_list<std::string_view> suffixes) {
  return std::any_of(suffixes.begin(), suffixes.end(),
                     [&](std::string_view x) { return s.size() > x.size() && s.ends_with(x); });
}

}  // namespace

std::map<std::string, std::string> drop_env_containing(std::map<std::string, std::string> env,
                                                       const std::vector<std::string>& parts) {
  std::erase_if(env, [&](const auto& kv) {
    return std::any_of(parts.begin(), parts.end(),
                       [&](const std::string& p) { return kv.first.find(p) != std::string::npos; });
  });
  return env;
}

std::optional<EcosystemFormat> ecosystem_format(std::string_view path) {
  if (ends_with_any(path, {".json"})) return EcosystemFormat::kJson;
  if (ends_with_any(path, {".yaml", ".yml"})) return EcosystemFormat::kYaml;
  if (ends_with_any(path, {".js", ".cjs", ".mjs"})) return EcosystemFormat::kJavaScript;
  return std::nullopt;
}

bool looks_like_ecosystem(std::string_view arg) {
  std::size_t slash = arg.rfind('/');
  std::string_view base = slash == std::string_view::npos ? arg : arg.substr(slash + 1);
  return ends_with_any(base,
                       {".config.js", ".config.cjs", ".config.mjs", ".json", ".yaml", ".yml"});
}

Result<EcosystemResult> parse_ecosystem(std::string_view text, EcosystemFormat format,
                                        const std::string& display_name,
                                        const std::string& base_dir, const EcosystemOptions& opts) {
  Result<SourceDoc> doc = format == EcosystemFormat::kJson ? detail::read_json(text, display_name)
                          : format == EcosystemFormat::kYaml
                              ? detail::read_yaml(text, display_name)
                              : fail(EINVAL, fmt::format("{}: a JavaScript ecosystem file must be "
                                                         "loaded from disk",
                                                         display_name));
  if (!doc) return std::unexpected(doc.error());
  return resolve(*doc, display_name, base_dir, opts);
}

Result<EcosystemResult> load_ecosystem(const std::string& path, const EcosystemOptions& opts) {
  std::optional<EcosystemFormat> format = ecosystem_format(path);
  if (!format) {
    return fail(EINVAL, fmt::format("{}: not an ecosystem file (expected .json, .yaml, .yml, "
                                    ".config.js, .cjs or .mjs)",
                                    path));
  }
  std::error_code ec;
  std::string base_dir = fs::absolute(path, ec).lexically_normal().parent_path().string();
  if (*format == EcosystemFormat::kJavaScript) {
    if (!fs::exists(path, ec)) {
      return fail(ENOENT, fmt::format("ecosystem file not found: {}", path));
    }
    auto doc = detail::read_js(path, path, opts.base_env);
    if (!doc) return std::unexpected(doc.error());
    return resolve(*doc, path, base_dir, opts);
  }
  if (!fs::exists(path, ec)) return fail(ENOENT, fmt::format("ecosystem file not found: {}", path));
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail_errno(fmt::format("read ecosystem file {}", path));
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) return fail_errno(fmt::format("read ecosystem file {}", path));
  return parse_ecosystem(text.str(), *format, path, base_dir, opts);
}

}  // namespace herd::manager
