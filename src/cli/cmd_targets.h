// The target words of the verbs that act on apps (stop, restart, reload, delete, reset, start of
// an existing set), resolved on the client side where PM2's CLI resolves them: ecosystem files
// and script paths. See cmd_targets.cc for the rules.
//
// Threads: the CLI's main thread.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "app/app_spec.h"
#include "app/ecosystem.h"
#include "cli/commands.h"

namespace herd::cli {

struct TargetAction {
  manager::Verb verb = manager::Verb::kStop;
  std::vector<std::string> targets = {};
  std::optional<std::map<std::string, std::string>> update_env = {};  // --update-env
  std::string env_name = {};                                          // --env, for files
  std::vector<std::string> only = {};                                 // --only, for files
  std::optional<int> parallel = {};                                   // reload --parallel
  // A file's apps that are not managed yet are started (restart, reload, start); else skipped.
  bool start_missing = false;
};

// Reads the ecosystem file `word` (a path relative to the working directory, or "-" for JSON on
// stdin) with act.env_name, act.only and the CLI's environment.
Result<manager::EcosystemResult> load_file(const std::string& word, const TargetAction& act);

// Runs `act`, prints what went wrong and the process table; the exit code (1 on any error).
int act_on_targets(Cli& cli, const TargetAction& act);

// A file's apps (already loaded): those running get act.verb (restart and reload with the
// file's variables read again), the others are started or skipped as act.start_missing says.
// `word` names the file in messages. No table printed; 0 or 1.
int act_on_file_apps(Cli& cli, const TargetAction& act, const std::string& word,
                     std::vector<manager::AppSpec> apps);

// Starts `apps` in one request, printing warnings and errors; 0 or 1.
int start_specs(Cli& cli, const std::vector<manager::AppSpec>& apps);

// Prints what `start` said beside the processes it started; 1 when one of them failed.
int report_started(const nlohmann::json& r);

}  // namespace herd::cli
