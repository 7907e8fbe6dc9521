// Finding a setting of the table (app_settings.h) by key, PM2 alias or `herd start` flag.
#include <algorithm>

#include "app/app_settings.h"

namespace herd::manager {

bool SettingFlag::has(std::string_view name) const {
  return !name.empty() && std::find(names.begin(), names.end(), name) != names.end();
}

bool AppSetting::has_alias(std::string_view name) const {
  return !name.empty() && std::find(aliases.begin(), aliases.end(), name) != aliases.end();
}

const AppSetting* find_setting(std::string_view key) {
  for (const AppSetting& s : app_settings()) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

const AppSetting* find_setting_by_alias(std::string_view alias) {
  for (const AppSetting& s : app_settings()) {
    if (s.has_alias(alias)) return &s;
  }
  return nullptr;
}

const AppSetting* find_setting_by_flag(std::string_view flag) {
  for (const AppSetting& s : app_settings()) {
    if (s.flag.has(flag)) return &s;
  }
  return nullptr;
}

nlohmann::json setting_default(const AppSetting& s) { return s.get(AppSpec()); }

}  // namespace herd::manager
