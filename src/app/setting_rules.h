// Internal to the settings table (app_settings.cc): the pieces its entries are made of. Generic
// ones by member (templates), and the rules of the settings that have their own.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "app/app_settings.h"
#include "app/setting_values.h"

namespace herd::manager::detail {

using nlohmann::json;

// --- Generic pieces by member: most settings are made of these. ---

template <auto M>
json get(const AppSpec& s) {
  return json(s.*M);
}

// jlist's value of a text setting: left out while empty, as PM2 leaves out keys not given.
template <auto M>
json get_when_set(const AppSpec& s) {
  return (s.*M).empty() ? json() : json(s.*M);
}

// Stores a converted value in the member M, or passes its error on.
template <auto M, class T>
Status store(AppSpec& s, Result<T> value) {
  if (!value) return std::unexpected(value.error());
  s.*M = std::move(*value);
  return {};
}

// JSON -> the member, through a converter of setting_values.h.
template <auto M, auto Convert>
Status set(AppSpec& s, const json& v) {
  return store<M>(s, Convert(v));
}

template <auto M>
void copy(AppSpec& to, const AppSpec& from) {
  to.*M = from.*M;
}

template <auto M>
Status flag_text(AppSpec& cli, const FlagInput& in) {
  cli.*M = in.value;
  return {};
}

template <auto M>
Status flag_path(AppSpec& cli, const FlagInput& in) {
  cli.*M = absolute_in(in.cwd, in.value);
  return {};
}

// A flag in milliseconds; the error names the flag.
template <auto M>
Status flag_millis(AppSpec& cli, const FlagInput& in) {
  return store<M>(cli, flag_ms(in.flag, in.value));
}

// A flag whose text `Parse` reads (Result<T>(const std::string&)), its error as is.
template <auto M, auto Parse>
Status flag_parsed(AppSpec& cli, const FlagInput& in) {
  return store<M>(cli, Parse(in.value));
}

template <auto M, bool kValue>
Status flag_switch(AppSpec& cli, const FlagInput&) {
  cli.*M = kValue;
  return {};
}

// --- Settings with rules of their own (setting_rules.cc). ---

Result<std::vector<std::string>> as_args(const json& v);
// A command line in one flag ("--harmony --max-old-space-size=512"), split like a shell.
template <auto M>
Status flag_args(AppSpec& cli, const FlagInput& in) {
  return store<M>(cli, as_args(json(in.value)));
}
Result<std::vector<std::string>> as_paths(const json& v);
Status set_name(AppSpec& s, const json& v);
Status set_instances(AppSpec& s, const json& v);
json get_instances(const AppSpec& s);
Status flag_instances(AppSpec& cli, const FlagInput& in);
Status set_exec_mode(AppSpec& s, const json& v);
Status flag_fork_mode(AppSpec& cli, const FlagInput& in);
json get_exec_mode(const AppSpec& s);
Status flag_listen(AppSpec& cli, const FlagInput& in);
Status set_socket_mode(AppSpec& s, const json& v);
Status flag_max_restarts(AppSpec& cli, const FlagInput& in);
Status set_stop_exit_codes(AppSpec& s, const json& v);
Status flag_stop_exit_codes(AppSpec& cli, const FlagInput& in);
Status set_kill_signal(AppSpec& s, const json& v);
Status flag_kill_signal(AppSpec& cli, const FlagInput& in);
Status set_cron_restart(AppSpec& s, const json& v);
Status flag_cron_restart(AppSpec& cli, const FlagInput& in);
json jlist_cron_restart(const AppSpec& s);
Status set_watch(AppSpec& s, const json& v);
json get_watch(const AppSpec& s);
Status flag_watch(AppSpec& cli, const FlagInput& in);
void override_watch(AppSpec& app, const AppSpec& cli);
Status set_ignore_watch(AppSpec& s, const json& v);
Status flag_ignore_watch(AppSpec& cli, const FlagInput& in);
json jlist_watch_delay(const AppSpec& s);
json jlist_watch(const AppSpec& s);
Status set_increment_var(AppSpec& s, const json& v);
Status set_log_file(AppSpec& s, const json& v);
json get_log_file(const AppSpec& s);
Status flag_log_file(AppSpec& cli, const FlagInput& in);
// depends_on in jlist and describe: "db (ready), migrate (completed)"; null when there is none.
json jlist_depends_on(const AppSpec& s);
Status set_watch_ext(AppSpec& s, const json& v);
Status flag_watch_ext(AppSpec& cli, const FlagInput& in);
// health_check (setting_health.cc).
Status set_health_check(AppSpec& s, const json& v);
json get_health_check(const AppSpec& s);
Status flag_health_check(AppSpec& cli, const FlagInput& in);

// --- The watchdog and hooks (setting_watchdog_hooks.cc). ---
Status set_watchdog(AppSpec& s, const json& v);
Status flag_watchdog(AppSpec& cli, const FlagInput& in);
json jlist_watchdog(const AppSpec& s);
Status set_hooks(AppSpec& s, const json& v);
json get_hooks(const AppSpec& s);
json jlist_hooks(const AppSpec& s);
Status flag_hook(AppSpec& cli, const FlagInput& in);
void override_hooks(AppSpec& app, const AppSpec& cli);
Status set_hook_timeout(AppSpec& s, const json& v);
Status flag_hook_timeout(AppSpec& cli, const FlagInput& in);

// --- Diagnostics (setting_diagnostics.cc). ---
Status set_memory_window(AppSpec& s, const json& v);
Status flag_memory_window(AppSpec& cli, const FlagInput& in);
Status set_memory_leak_threshold(AppSpec& s, const json& v);
Status flag_memory_leak_threshold(AppSpec& cli, const FlagInput& in);
Status set_load_window(AppSpec& s, const json& v);
Status flag_load_window(AppSpec& cli, const FlagInput& in);
// --- Resources: max_memory, cpu_quota, max_tasks (setting_resources.cc). ---
Status set_max_memory(AppSpec& s, const json& v);
Status flag_max_memory(AppSpec& cli, const FlagInput& in);
Status set_cpu_quota(AppSpec& s, const json& v);
json get_cpu_quota(const AppSpec& s);
json jlist_cpu_quota(const AppSpec& s);
Status flag_cpu_quota(AppSpec& cli, const FlagInput& in);
Status set_max_tasks(AppSpec& s, const json& v);
Status flag_max_tasks(AppSpec& cli, const FlagInput& in);
// jlist's value of a count or size: left out while 0 (off).
template <auto M>
json get_when_nonzero(const AppSpec& s) {
  return s.*M == 0 ? json() : json(s.*M);
}

}  // namespace herd::manager::detail
