#include "app/app_spec.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <charconv>

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

Result<std::optional<std::int64_t>> increment_var_value(const AppSpec& spec, int index) {
  if (spec.increment_var.empty()) return std::nullopt;
  auto it = spec.env.find(spec.increment_var);
  if (it == spec.env.end() || it->second.empty()) return std::optional<std::int64_t>(index);
  const std::string& text = it->second;
  const char* begin = text.data() + (text[0] == '+' ? 1 : 0);
  std::int64_t base = 0;
  auto [end, ec] = std::from_chars(begin, text.data() + text.size(), base);
  if (ec != std::errc() || end != text.data() + text.size() || begin == end) {
    return fail(EINVAL, fmt::format("increment_var {} is \"{}\" in env, not a whole number",
                                    spec.increment_var, text));
  }
  return std::optional<std::int64_t>(base + index);
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
