#include "app/app_spec.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>

#include "app/app_settings.h"
#include "app/setting_values.h"

namespace herd::manager {

using nlohmann::json;

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
  const AppSetting* setting = find_setting(key);
  if (setting == nullptr) return fail(ENOENT, fmt::format("unknown key \"{}\"", key));
  if (value.is_null()) return {};
  return setting->set(*spec, value);
}

bool is_app_field(std::string_view key) { return find_setting(key) != nullptr; }

const std::vector<std::string_view>& app_field_names() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> out;
    for (const AppSetting& s : app_settings()) {
      if (s.always_in_json) out.push_back(s.key);
    }
    return out;
  }();
  return names;
}

json to_json(const AppSpec& spec) {
  json out = json::object();
  for (const AppSetting& s : app_settings()) {
    json value = s.get(spec);
    if (s.always_in_json || value != setting_default(s)) out[s.key] = std::move(value);
  }
  return out;
}

Result<AppSpec> app_spec_from_json(const json& j) {
  if (!j.is_object()) return std::unexpected(detail::expected("an app object", j).error());
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
