// `herd apply <ecosystem> [--env NAME] [--only a,b] [--prune]` (docs/apply.md), and PM2's
// startOrRestart / startOrReload / startOrGracefulReload as forms of it.
//
// Threads: the CLI's main thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "app/app_spec.h"
#include "cli/commands.h"

namespace herd::cli {

struct ApplyArgs {
  bool prune = false;
  // "" (apply), "restart" or "reload" (startOrRestart, startOrReload): every running app of the
  // file gets that verb, changed or not.
  std::string unchanged;
  std::optional<int> parallel;
};

// Sends the file's apps (already loaded) to the daemon's apply and prints one line per app and
// a summary line; `word` names the file. 0, or 1 when a step (or the request) failed.
int apply_file_apps(Cli& cli, const std::string& word, std::vector<manager::AppSpec> apps,
                    const ApplyArgs& args);

}  // namespace herd::cli
