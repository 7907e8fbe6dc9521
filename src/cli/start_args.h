// `herd start` arguments, PM2's flags, turned into app descriptions.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "app/app_spec.h"
#include "herd/base/error.h"

namespace herd::cli {

struct StartRequest {
  std::vector<manager::AppSpec> apps;
  std::vector<std::string> warnings;  // unknown ecosystem keys and the like
};

// Parses `args` (what follows `herd start`) against the CLI's environment `env` and working
// directory `cwd`. Errors are EINVAL with a message naming the flag or value.
Result<StartRequest> parse_start(const std::vector<std::string>& args,
                                 const std::map<std::string, std::string>& env,
                                 const std::string& cwd);

// The usage text of `herd start`.
const char* start_usage();

}  // namespace herd::cli
