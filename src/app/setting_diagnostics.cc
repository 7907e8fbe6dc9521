// The diagnostics settings of the settings table (app_settings.cc): memory_window,
// memory_leak_threshold and load_window, from JSON and from `herd start` flags, with their
// bounds. What they do: docs/diagnostics.md.
#include <fmt/format.h>

#include "app/setting_rules.h"

namespace herd::manager::detail {
namespace {

constexpr std::string_view kDurationForms = "\"10m\", \"30s\", or ms as a number";
constexpr std::uint64_t kMinWindowMs = 5 * 1000;
constexpr std::uint64_t kMaxMemoryWindowMs = 24 * 3600 * 1000;
constexpr std::uint64_t kMaxLoadWindowMs = 3600 * 1000;

// A window from 5 s to `max_ms`, in any duration form; the error says the bounds.
Result<std::uint64_t> window(const json& v, std::uint64_t max_ms, std::string_view max_text) {
  auto ms = as_duration(v);
  if (!ms || *ms < kMinWindowMs || *ms > max_ms) {
    return expected(fmt::format("a duration from 5s to {} ({})", max_text, kDurationForms), v);
  }
  return *ms;
}

// A flag's value read by `set`; the error names the flag and its value.
Status flag_with(Status (*set)(AppSpec&, const json&), AppSpec& cli, const FlagInput& in) {
  Status s = set(cli, json(in.value));
  if (!s) {
    return fail(EINVAL, fmt::format("{} '{}': {}", in.flag, in.value, s.error().context()));
  }
  return {};
}

}  // namespace

Status set_memory_window(AppSpec& s, const json& v) {
  return store<&AppSpec::memory_window_ms>(s, window(v, kMaxMemoryWindowMs, "24h"));
}

Status flag_memory_window(AppSpec& cli, const FlagInput& in) {
  return flag_with(set_memory_window, cli, in);
}

Status set_memory_leak_threshold(AppSpec& s, const json& v) {
  auto bytes = as_size(v);
  if (!bytes || *bytes == 0) {
    return expected("a growth rate in bytes per second above 0 (\"100K\", \"1M\", or bytes)", v);
  }
  s.memory_leak_threshold = *bytes;
  return {};
}

Status flag_memory_leak_threshold(AppSpec& cli, const FlagInput& in) {
  return flag_with(set_memory_leak_threshold, cli, in);
}

Status set_load_window(AppSpec& s, const json& v) {
  return store<&AppSpec::load_window_ms>(s, window(v, kMaxLoadWindowMs, "1h"));
}

Status flag_load_window(AppSpec& cli, const FlagInput& in) {
  return flag_with(set_load_window, cli, in);
}

}  // namespace herd::manager::detail
