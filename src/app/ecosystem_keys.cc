#include "app/ecosystem_keys.h"

#include <algorithm>
#include <vector>

#include "app/app_settings.h"

namespace herd::manager::detail {
namespace {

// Keys of PM2's schema that herd reads itself rather than through set_app_field.
constexpr std::string_view kMapped[] = {"env", "port", "append_env_to_name", "filter_env",
                                        "disable_logs"};

// Keys of PM2's schema that mean nothing under herd. They are accepted, so that a PM2 file runs
// unchanged, but never silently: the warning says why the key does nothing.
struct Ignored {
  std::string_view key;
  std::string_view why;
};
constexpr Ignored kIgnored[] = {
    {"source_map_support", "is Node-specific"},
    {"disable_source_map_support", "is Node-specific"},
    {"node_version", "is Node-specific"},
    {"pmx", "is PM2-specific"},
    {"automation", "is PM2-specific"},
    {"vizion", "is PM2-specific (versioning metadata)"},
    {"trace", "is PM2.io-specific"},
    {"disable_trace", "is PM2.io-specific"},
    {"v8", "is PM2.io-specific"},
    {"event_loop_inspector", "is PM2.io-specific"},
    {"deep_monitoring", "is PM2.io-specific"},
    {"io", "is PM2.io-specific"},
    {"windowsHide", "is Windows-specific"},
    {"post_update", "belongs to PM2's deploy"},
    {"install_url", "belongs to PM2's modules"},
    {"force", "does not apply: herd starts an app once per name"},
    {"name_prefix", "is not supported"},
    {"pid_file", "is not supported: herd keeps pid files in HERD_HOME/pids"},
    {"username", "is set by PM2 itself; use uid (or user) for the account the app runs as"},
    {"watch_options", "is not supported"},
    {"kill_retry_time", "does not apply: herd sends SIGKILL once, after kill_timeout"},
    {"execute_command", "is not supported"},
    {"write", "is not supported"},
    {"treekill", "does not apply: herd always stops the whole process group"},
};

const Ignored* find_ignored(std::string_view key) {
  for (const Ignored& i : kIgnored) {
    if (i.key == key) return &i;
  }
  return nullptr;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// The known key an unknown one was probably meant to be: "instnces" -> "instances",
// "maxRestarts" -> "max_restarts", "Script" -> "script"; "" when nothing is close.
std::string suggest(std::string_view key) {
  std::string snake;
  for (char c : key) {
    if (c >= 'A' && c <= 'Z') {
      if (!snake.empty()) snake.push_back('_');
      snake.push_back(static_cast<char>(c - 'A' + 'a'));
    } else {
      snake.push_back(c == '-' ? '_' : c);
    }
  }
  std::vector<std::string_view> known;
  for (const AppSetting& setting : app_settings()) known.push_back(setting.key);
  for (const AppSetting& setting : app_settings()) {
    for (std::string_view alias : setting.aliases) {
      if (!alias.empty()) known.push_back(alias);
    }
  }
  for (std::string_view m : kMapped) known.push_back(m);
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(1, snake.size() / 4) + 1;
  for (std::string_view k : known) {
    if (k == snake) return std::string(k);
    std::size_t d = edit_distance(snake, k);
    if (d < best_distance) {
      best_distance = d;
      best = k;
    }
  }
  return best;
}

}  // namespace

KeyClass classify_key(std::string_view key) {
  // Mapped keys first: "env" is a field too, but the loader merges it with env_<name>.
  if (std::find(std::begin(kMapped), std::end(kMapped), key) != std::end(kMapped)) {
    return {KeyKind::kMapped, std::string(key)};
  }
  if (key.starts_with("env_") && key.size() > 4) {
    return {KeyKind::kEnvSection, std::string(key.substr(4))};
  }
  if (is_app_field(key)) return {KeyKind::kField, std::string(key)};
  if (const AppSetting* setting = find_setting_by_alias(key)) {
    return {KeyKind::kAlias, std::string(setting->key)};
  }
  if (const Ignored* ignored = find_ignored(key)) {
    return {KeyKind::kIgnored, std::string(ignored->why)};
  }
  return {KeyKind::kUnknown, suggest(key)};
}

}  // namespace herd::manager::detail
