// Test helpers for the settings tests: the message a bad value gets, from an ecosystem file's
// app object or from `herd start`'s flag, or "(accepted)".
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "app/app_settings.h"
#include "app/app_spec.h"

namespace herd::manager::test {

// The error of set_app_field as app_spec_from_json shows it ("watchdog: expected ...").
inline std::string json_error(const nlohmann::json& app) {
  auto spec = app_spec_from_json(app);
  return spec ? std::string("(accepted)") : input_error_message(spec.error());
}

// The error of the flag's parser, as `herd start` shows it; "(no such flag)" for an unknown one.
inline std::string flag_error(std::string_view flag, const std::string& value) {
  const AppSetting* s = find_setting_by_flag(flag);
  if (s == nullptr) return "(no such flag)";
  AppSpec cli;
  std::string cwd = "/";
  Status st = s->flag.parse(cli, FlagInput{flag, value, cwd});
  return st ? std::string("(accepted)") : input_error_message(st.error());
}

}  // namespace herd::manager::test
