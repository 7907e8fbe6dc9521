// The rules of the watchdog and hook settings (watchdog, hooks, hook_timeout) of the settings
// table: how their values are read from JSON and from `herd start` flags, and how jlist shows
// them. See docs/watchdog-and-hooks.md for what they do.
#include <fmt/format.h>

#include <algorithm>

#include "app/hook_events.h"
#include "app/setting_rules.h"

namespace herd::manager::detail {
namespace {

constexpr std::string_view kDurationForms = "\"10s\", \"500ms\", \"2m\", or ms as a number";

std::string event_list() {
  std::string out;
  for (std::string_view e : kHookEventNames) out += (out.empty() ? "" : ", ") + std::string(e);
  return out;
}

bool is_hook_event(std::string_view name) {
  return std::find(kHookEventNames.begin(), kHookEventNames.end(), name) != kHookEventNames.end();
}

// One event's command: a known event and a command that is not blank. The error names both.
Status check_hook(std::string_view event, const std::string& command) {
  if (!is_hook_event(event)) {
    return fail(EINVAL,
                fmt::format("unknown hook event \"{}\" (the events are {})", event, event_list()));
  }
  if (command.find_first_not_of(" \t\r\n") == std::string::npos) {
    return fail(EINVAL, fmt::format("the hook for \"{}\" has an empty command", event));
  }
  return {};
}

}  // namespace

Status set_watchdog(AppSpec& s, const json& v) {
  // false / "off" read as 0 (off), as systemd's WatchdogSec=0 is.
  if (v.is_boolean() && !v.get<bool>()) {
    s.watchdog_ms = 0;
    return {};
  }
  if (v.is_string() && v.get<std::string>() == "off") {
    s.watchdog_ms = 0;
    return {};
  }
  auto ms = as_duration(v);
  if (!ms) return expected(fmt::format("a duration ({}; 0 = off)", kDurationForms), v);
  s.watchdog_ms = *ms;
  return {};
}

Status flag_watchdog(AppSpec& cli, const FlagInput& in) {
  Status s = set_watchdog(cli, json(in.value));
  if (!s) {
    return fail(EINVAL, fmt::format("{} takes a duration ({}; 0 = off), not '{}'", in.flag,
                                    kDurationForms, in.value));
  }
  return {};
}

json jlist_watchdog(const AppSpec& s) { return s.watchdog_ms == 0 ? json() : json(s.watchdog_ms); }

Status set_hooks(AppSpec& s, const json& v) {
  if (!v.is_object()) {
    return expected(fmt::format("an object of event: command (events: {})", event_list()), v);
  }
  std::map<std::string, std::string> hooks;
  for (const auto& [event, command] : v.items()) {
    if (command.is_null()) continue;
    if (!command.is_string()) {
      return fail(EINVAL, fmt::format("the hook for \"{}\" must be a command (a string), not {}",
                                      event, describe_value(command)));
    }
    if (Status st = check_hook(event, command.get<std::string>()); !st) return st;
    hooks[event] = command.get<std::string>();
  }
  s.hooks = std::move(hooks);
  return {};
}

json get_hooks(const AppSpec& s) { return json(s.hooks); }

json jlist_hooks(const AppSpec& s) { return s.hooks.empty() ? json() : json(s.hooks); }

Status flag_hook(AppSpec& cli, const FlagInput& in) {
  std::size_t eq = in.value.find('=');
  if (eq == std::string::npos) {
    return fail(EINVAL, fmt::format("{} takes EVENT=COMMAND (events: {}), not '{}'", in.flag,
                                    event_list(), in.value));
  }
  std::string event = in.value.substr(0, eq);
  std::string command = in.value.substr(eq + 1);
  if (Status st = check_hook(event, command); !st) {
    return fail(EINVAL, fmt::format("{} {}: {}", in.flag, in.value, st.error().context()));
  }
  cli.hooks[event] = std::move(command);  // repeatable: one flag per event
  return {};
}

void override_hooks(AppSpec& app, const AppSpec& cli) {
  for (const auto& [event, command] : cli.hooks) app.hooks[event] = command;
}

Status set_hook_timeout(AppSpec& s, const json& v) {
  auto ms = as_duration(v);
  if (!ms || *ms == 0) return expected(fmt::format("a duration above 0 ({})", kDurationForms), v);
  s.hook_timeout_ms = *ms;
  return {};
}

Status flag_hook_timeout(AppSpec& cli, const FlagInput& in) {
  if (!set_hook_timeout(cli, json(in.value))) {
    return fail(EINVAL, fmt::format("{} takes a duration above 0 ({}), not '{}'", in.flag,
                                    kDurationForms, in.value));
  }
  return {};
}

}  // namespace herd::manager::detail
