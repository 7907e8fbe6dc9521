// `herd apply`'s plan: what to do to each app so that what the daemon runs matches a file.
//
// Computed by the daemon against its own state in one go (daemon/supervisor_apply.cc), so the
// plan and the state it was made from cannot drift apart; pure, so it is unit-tested here.
//
// Pure functions; any thread.
#pragma once

#include <string>
#include <vector>

#include "app/app_spec.h"

namespace herd::manager {

// One app the daemon has, as the plan needs it.
struct RunningApp {
  AppSpec spec;
  int instances = 0;        // its instance count now
  bool running = false;     // an instance runs, starts or waits for its dependencies
  bool reloadable = false;  // herd holds its sockets: a rolling reload keeps it serving
  // Not running, and as it should be: registered with autostart false, or a job
  // (autorestart false) whose every instance ran and exited 0. Unchanged, it is left alone.
  bool settled = false;
};

enum class ApplyAction {
  kStart,      // not in the daemon, or stopped there: started with the file's definition
               // (an autostart-false app is registered again, not started)
  kUnchanged,  // the same definition and instance count
  kUpdate,     // only settings read live differ (app_settings.h: restart_to_apply false, such
               // as max_restarts, kill_timeout, depends_on): taken at once, no process touched
  kScale,      // only the instance count differs (and maybe settings read live)
  kReload,     // the definition differs: rolling reload with the new one (then scaled)
  kRestart,    // the same, for an app herd cannot reload (no sockets held by herd)
  kRecreate,   // listen, exec_mode, socket_mode or inject changed: deleted and started again
  kDelete,     // --prune: the file does not have it
};

// "started", "unchanged", "scaled", "reloaded", "restarted", "recreated", "deleted".
const char* apply_action_name(ApplyAction a);

struct ApplyStep {
  std::string app;
  ApplyAction action = ApplyAction::kUnchanged;
  std::vector<std::string> changes;  // "env.PORT", "max_restarts", "instances 2 -> 4"
  int from_instances = 0;
  int to_instances = 0;
  const AppSpec* spec = nullptr;  // the file's (nullptr for kDelete)
};

// What differs between the definition an app runs with and the file's: the keys of AppSpec's
// JSON that differ, the file's own variables as "env.NAME" (app_env; the rest of `env` is the
// environment of the shell `apply` ran in, which does not make an app change), in to_json's
// order. Empty when nothing does.
std::vector<std::string> spec_changes(const AppSpec& running, const AppSpec& file);

struct ApplyOptions {
  bool prune = false;
  // What happens to an app whose definition did not change: kUnchanged (apply), or kRestart /
  // kReload (PM2's startOrRestart / startOrReload, which redeploy code that changed on disk).
  ApplyAction unchanged = ApplyAction::kUnchanged;
};

// The steps, in `file`'s dependency order (app/depends.h), then the deletions (--prune: the
// daemon's apps in the namespaces the file uses that it does not name), in `daemon`'s order.
// `counts[i]`: the instance count file[i] resolves to on this machine.
std::vector<ApplyStep> plan_apply(const std::vector<AppSpec>& file, const std::vector<int>& counts,
                                  const std::vector<RunningApp>& daemon, const ApplyOptions& o);

}  // namespace herd::manager
