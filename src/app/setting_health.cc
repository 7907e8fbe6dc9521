// The health_check setting's entry pieces (app_settings.cc): JSON and the --health-check flag.
#include <fmt/format.h>

#include "app/health_check.h"
#include "app/setting_rules.h"

namespace herd::manager::detail {

Status set_health_check(AppSpec& s, const json& v) {
  return store<&AppSpec::health_check>(s, health_check_from_json(v));
}

json get_health_check(const AppSpec& s) { return health_check_to_json(s.health_check); }

Status flag_health_check(AppSpec& cli, const FlagInput& in) {
  auto c = parse_health_check(in.value);
  if (!c) {
    return fail(EINVAL, fmt::format("{} '{}': {}", in.flag, in.value, c.error().context()));
  }
  cli.health_check = *c;
  return {};
}

}  // namespace herd::manager::detail
