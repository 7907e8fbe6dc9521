// depends_on: the apps an app waits for before it starts, and the condition each must meet.
//
//   depends_on: [db, cache]                       every one "started"
//   depends_on: {db: ready, migrate: completed}   a condition per dependency
//   depends_on: {db: {condition: healthy}}        docker compose's long form
//
// Conditions (docs/depends-on.md): "started" (its instances have been spawned), "ready" (alias
// "healthy", "service_healthy", "process_healthy": every instance online), "completed" (alias
// "completed_successfully", "service_completed_successfully", "process_completed_successfully":
// every instance ran and exited 0). AppSpec::depends_on keeps the canonical word.
//
// Pure functions; any thread.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "app/app_spec.h"
#include "herd/base/error.h"

namespace herd::manager {

inline constexpr std::string_view kDependStarted = "started";
inline constexpr std::string_view kDependReady = "ready";
inline constexpr std::string_view kDependCompleted = "completed";

// The canonical condition for a word of either vocabulary; "" when it is none of them.
std::string_view depend_condition(std::string_view word);

// depends_on's value in any of the forms above (null: none). EINVAL "expected ..., got ..." or
// "unknown condition 'x' for 'db' (expected started, ready/healthy or completed)".
Result<std::map<std::string, std::string>> parse_depends_on(const nlohmann::json& v);

// Refuses, naming the apps: a dependency on itself, a name that is neither one of `apps` nor
// `elsewhere(name)` (an app the daemon already runs), and a cycle among `apps`
// ("depends_on cycle: a -> b -> c -> a"). EINVAL.
Status check_dependencies(const std::vector<AppSpec>& apps,
                          const std::function<bool(const std::string&)>& elsewhere);

// The indexes of `apps` with every app after the apps of `apps` it depends on, otherwise in the
// file's order (dependencies outside `apps` do not count). Expects no cycle (check_dependencies);
// apps in a cycle come last, in the file's order.
std::vector<std::size_t> dependency_order(const std::vector<AppSpec>& apps);
// `apps` rearranged in dependency_order: what a start of several apps registers first.
std::vector<AppSpec> in_dependency_order(std::vector<AppSpec> apps);

}  // namespace herd::manager
