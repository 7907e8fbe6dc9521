// The Supervisor's side of resources (docs/resources.md): what `herd ping` says of cgroups,
// the groups a dead daemon left, and start's refusal of limits that cannot be enforced.
#include <fmt/format.h>

#include "daemon/supervisor.h"
#include "daemon/supervisor_internal.h"

namespace herd::manager {

nlohmann::json Supervisor::cgroups_json() const {
  return cgroups_ ? cgroups_->to_json() : nlohmann::json(nullptr);
}

void Supervisor::reclaim_cgroups() {
  if (cgroups_) cgroups_->reclaim_stale();
}

// A limit is a promise about the machine: an app that asks for one does not run without it
// (rather than run unbounded with a warning nobody reads).
std::optional<VerbError> Supervisor::refuse_limits(const AppSpec& spec) const {
  if (cgroups_ && cgroups_->enabled()) return std::nullopt;
  std::string key = spec.max_memory ? "max_memory" : spec.cpu_quota ? "cpu_quota" : "max_tasks";
  if (spec.max_memory == 0 && spec.cpu_quota == 0 && spec.max_tasks == 0) return std::nullopt;
  return detail::verb_error(
      ErrorCode::kBadRequest,
      fmt::format("app '{}': {} needs cgroups, which are off: {}", spec.name, key,
                  cgroups_ ? cgroups_->reason() : std::string("not detected yet")));
}

}  // namespace herd::manager
