// The table of app settings: every setting of AppSpec declared once, with everything the rest of
// herd needs to know about it.
//
//   key        PM2's JSON name ("max_memory_restart"), and PM2's other spellings (aliases)
//   type       what kind of value it holds (for people and docs; the converters enforce it)
//   set / get  JSON in any of PM2's forms -> the field (validated), the field -> JSON
//   flag       the `herd start` flag(s), how their text is read, and whether a flag given with
//              an ecosystem file overrides the file
//   restart    whether a running app takes a change only when its instances restart
//   display    where jlist's pm2_env shows it, and `describe`'s label and format
//
// The default of a setting is the default of its AppSpec member (setting_default()). Readers:
// set_app_field / to_json / app_spec_from_json (app_spec.cc), the ecosystem loader's key
// classification (ecosystem_keys.cc), `herd start`'s flag parser (cli/start_args.cc), the
// daemon's jlist (daemon/instance_report.cc) and `describe` (cli/render/format.cc).
//
// Adding a setting: a member in AppSpec, one entry in kSettings (app_settings.cc), the code
// that acts on it, and a test.
//
// The table is immutable; every function here may be called from any thread.
#pragma once

#include <array>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>

#include "app/app_spec.h"
#include "herd/base/error.h"

namespace herd::manager {

enum class SettingType {
  kString,
  kPath,  // a file or directory; the CLI resolves it against its working directory
  kBool,
  kInt,
  kDurationMs,  // a number of ms, or "500ms", "1s", "2m", "1h"
  kSize,        // bytes, or "512K", "300M", "1G"
  kList,        // strings (an array, or one string)
  kArgs,        // a command line: an array, or one string split like a shell
  kEnvMap,      // NAME: value
  kEnvName,     // the name of an environment variable
  kSignal,      // a name or number, stored as "SIGxxx"
  kCron,        // a cron expression (cron.h)
  kInstances,   // a number or "max"
  kChoice,      // one of a few words
  kExitCodes,
  kWatch,    // true, false, a path or a list of paths
  kHooks,    // event: command (app/hook_events.h)
  kDepends,  // app names, or app name -> condition (app/depends.h)
};

// How a `herd start` flag takes its value.
enum class FlagArity {
  kSwitch,    // no value: --no-autorestart
  kValue,     // --flag VALUE or --flag=VALUE
  kOptional,  // --flag=VALUE, or the next word once the script is known (--watch src)
};

// A flag's text on its way into the spec the command line describes.
struct FlagInput {
  std::string_view flag;     // as typed: "-i" or "--instances"
  const std::string& value;  // "" for a switch, or an optional value that was not given
  const std::string& cwd;    // the CLI's working directory, for relative paths
};

struct SettingFlag {
  // Up to three spellings ({"-i", "--instances"}); all empty when the setting has no flag.
  std::array<std::string_view, 3> names{};
  FlagArity arity = FlagArity::kValue;
  // Stores the flag's value in `cli`. EINVAL with a sentence naming the flag otherwise.
  Status (*parse)(AppSpec& cli, const FlagInput& in) = nullptr;
  // With an ecosystem file: copies what the flag set in `cli` onto an app of the file, as PM2
  // lets flags override the file. nullptr: the flag applies to a script only, not to a file.
  void (*override_file)(AppSpec& app, const AppSpec& cli) = nullptr;

  bool has(std::string_view name) const;
};

// How `describe` shows a setting's pm2_env value.
enum class DescribeFormat {
  kNone,           // not shown
  kText,           // as is ("N/A" when missing)
  kTextOrDefault,  // as is, the setting's default when missing or empty
  kTextWhenSet,    // a row only when present and not null
  kArgs,           // words quoted as a shell would need them
  kList,           // ", "-separated
  kBytesWhenSet,   // "300.0mb", a row only when truthy
  kCheck,          // ✔ or ✘
};

struct SettingDisplay {
  // jlist: pm2_env's name for it ("pm_exec_path" for script); "" when jlist does not show it.
  std::string_view pm2_env_key{};
  // jlist's value; nullptr for to_json's form. A null result leaves it out of pm2_env.
  nlohmann::json (*value)(const AppSpec&) = nullptr;
  // False when the daemon reports what is in effect instead (the addresses actually bound, the
  // mode the app really runs in): the key is then filled by the instance itself.
  bool from_spec = true;
  // describe: the row's label ("" = no row of its own) and how the value reads.
  std::string_view label{};
  DescribeFormat format = DescribeFormat::kNone;
  // A name PM2's own jlist uses for it, which describe prefers when present ("node_args").
  std::string_view pm2_name{};
};

struct AppSetting {
  std::string_view key{};
  SettingType type{};
  // PM2's other spellings in ecosystem files (lib/API/schema.json's aliases).
  std::array<std::string_view, 4> aliases{};
  // Sets the field from a non-null JSON value in any of PM2's forms; EINVAL "expected ..., got
  // ..." (without the key) when it does not fit.
  Status (*set)(AppSpec&, const nlohmann::json&) = nullptr;
  nlohmann::json (*get)(const AppSpec&) = nullptr;
  SettingFlag flag{};
  // A running app takes a change at its instances' next start (true), or at once (false: read
  // whenever the daemon decides, as the restart policy and the stop timeout are).
  bool restart_to_apply = true;
  SettingDisplay display{};
  // False for a setting PM2 writes only when given: to_json leaves it out while it holds its
  // default, so the JSON of a spec that does not use it stays what it was.
  bool always_in_json = true;

  bool has_alias(std::string_view name) const;
};

// Every setting, in to_json's order.
std::span<const AppSetting> app_settings();

// The setting with this key, or with this PM2 alias, or with this `herd start` flag; nullptr
// when there is none.
const AppSetting* find_setting(std::string_view key);
const AppSetting* find_setting_by_alias(std::string_view alias);
const AppSetting* find_setting_by_flag(std::string_view flag);

// A setting's default, in to_json's form.
nlohmann::json setting_default(const AppSetting& s);

}  // namespace herd::manager
