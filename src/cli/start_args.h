// `herd start` arguments, PM2's flags, turned into app descriptions.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "app/app_spec.h"
#include "herd/base/error.h"

namespace herd::cli {

// One script, command or ecosystem file of the command line, and the apps it made.
struct StartTarget {
  std::string word;                  // as typed ("app.js", "ecosystem.config.js", "-" for stdin)
  bool file = false;                 // an ecosystem file (or stdin)
  std::size_t first = 0, count = 0;  // its apps in StartRequest::apps
};

struct StartRequest {
  std::vector<manager::AppSpec> apps;
  std::vector<StartTarget> targets;   // in the order given
  std::vector<std::string> warnings;  // unknown ecosystem keys and the like
  bool attach = false;                // --attach: stream the apps' logs after starting them
};

// Parses `args` (what follows `herd start`) against the CLI's environment `env` and working
// directory `cwd`. Errors are EINVAL with a message naming the flag or value, and `verb` (the
// command whose options these are: `herd runtime` takes start's) in an unknown option's.
Result<StartRequest> parse_start(const std::vector<std::string>& args,
                                 const std::map<std::string, std::string>& env,
                                 const std::string& cwd, std::string_view verb = "start");

// Whether a target word names an ecosystem file (or "-": one on stdin) rather than a script.
bool is_ecosystem_target(std::string_view target);

// The usage text of `herd start`.
const char* start_usage();

}  // namespace herd::cli
