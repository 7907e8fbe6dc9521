// `herd apply` in the daemon (docs/apply.md): the plan is computed against the apps as they are
// at the moment the request arrives (app/apply_plan.h), then carried out one app after the other
// in dependency order, each step through the verbs the CLI would have used (start, reload,
// restart, scale, delete), so that each behaves exactly as its verb does.
//
// Threads: the daemon's loop thread only.
#include <fmt/format.h>

#include <algorithm>

#include "app/depends.h"
#include "daemon/supervisor.h"
#include "daemon/supervisor_internal.h"
#include "herd/base/log.h"

namespace herd::manager {

using nlohmann::json;

struct Supervisor::ApplyRun {
  std::vector<AppSpec> specs;
  std::vector<ApplyStep> steps;
  std::size_t next = 0;
  int parallel = 1;
  json lines = json::array();
  Reply reply;
};

void Supervisor::apply(std::vector<AppSpec> specs, const ApplyOptions& options, int parallel,
                       Reply reply) {
  if (parallel < 1) {
    return reply(std::unexpected(detail::verb_error(
        ErrorCode::kBadRequest, fmt::format("parallel must be 1 or more, not {}", parallel))));
  }
  if (Status s = check_dependencies(
          specs, [this](const std::string& name) { return find_app(name) != nullptr; });
      !s) {
    return reply(std::unexpected(detail::verb_error(ErrorCode::kBadRequest, s.error().context())));
  }
  std::vector<RunningApp> now;
  for (const auto& a : apps_) {
    bool running = !a->waiting_for.empty() || !a->incoming.empty() ||
                   std::any_of(a->instances.begin(), a->instances.end(), [](const auto& i) {
                     return i->is_running() || i->status() == InstanceStatus::kWaitingRestart;
                   });
    bool completed = !a->spec.autorestart && !a->instances.empty() &&
                     std::all_of(a->instances.begin(), a->instances.end(), [](const auto& i) {
                       return i->status() == InstanceStatus::kStopped && i->created_at_ms() > 0 &&
                              i->last_exit_code() == 0 && i->last_signal() == 0;
                     });
    now.push_back(RunningApp{.spec = a->spec,
                             .instances = static_cast<int>(a->instances.size()),
                             .running = running,
                             .reloadable = a->cluster(),
                             .settled = !a->spec.autostart || completed});
  }
  auto run = std::make_shared<ApplyRun>();
  run->specs = std::move(specs);
  std::vector<int> counts;
  for (const auto& s : run->specs) counts.push_back(s.resolved_instances(detail::cpu_count()));
  run->steps = plan_apply(run->specs, counts, now, options);
  run->parallel = parallel;
  run->reply = std::move(reply);
  apply_next(std::move(run));
}

std::string Supervisor::errored_reason(const std::string& name) const {
  const App* app = find_app(name);
  if (app == nullptr) return "";
  for (const auto& i : app->instances) {
    if (i->status() == InstanceStatus::kErrored) {
      return fmt::format("errored: {}", i->status_text());
    }
  }
  return "";
}

void Supervisor::apply_next(std::shared_ptr<ApplyRun> run) {
  if (run->next == run->steps.size()) {
    auto reply = std::move(run->reply);
    return reply(json{{"steps", std::move(run->lines)}});
  }
  const ApplyStep& step = run->steps[run->next++];
  json line = {{"app", step.app},
               {"action", apply_action_name(step.action)},
               {"changes", step.changes},
               {"instances", step.to_instances}};
  std::string name = step.app;
  // Records the step's line (with its error, if any) and goes on with the next step.
  auto finish = [this, run, line, name](std::string error) mutable {
    if (error.empty()) error = errored_reason(name);
    if (const App* app = find_app(name); app != nullptr && !app->waiting_for.empty()) {
      line["waiting"] = app->waiting_for;
    }
    if (!error.empty()) {
      line["error"] = error;
      log_warn("apply: app '{}': {}", name, error);
    } else if (line["action"] != "unchanged") {
      log_info("apply: app '{}' {}", name, line["action"].get<std::string>());
    }
    run->lines.push_back(std::move(line));
    apply_next(run);
  };
  auto then = [finish](const VerbResult& r) mutable { finish(r ? "" : r.error().message); };
  // After a reload or restart with the new definition, the instance count the file asks for.
  int wanted = step.to_instances;
  auto rescale = [this, name, wanted, finish](const VerbResult& r) mutable {
    if (!r) return finish(r.error().message);
    const App* app = find_app(name);
    if (app == nullptr || static_cast<int>(app->instances.size()) == wanted) return finish("");
    scale(name, std::to_string(wanted),
          [finish](const VerbResult& s) mutable { finish(s ? "" : s.error().message); });
  };
  App* app = find_app(name);
  switch (step.action) {
    case ApplyAction::kUnchanged:
      return finish("");
    case ApplyAction::kStart:
      return start(*step.spec, then);
    case ApplyAction::kUpdate:
    case ApplyAction::kScale: {
      if (app == nullptr) return finish("the app is gone");
      // The settings read live, and the count; the environment stays the one the processes got.
      AppSpec next = *step.spec;
      next.env = app->spec.env;
      app->spec = std::move(next);
      if (step.action == ApplyAction::kUpdate) return finish("");
      return scale(name, std::to_string(wanted), then);
    }
    case ApplyAction::kReload:
    case ApplyAction::kRestart: {
      if (app == nullptr) return finish("the app is gone");
      app->spec = *step.spec;
      if (app->triggers) (void)app->triggers->arm();  // a trigger that cannot be armed is logged
      if (step.action == ApplyAction::kReload) {
        return reload({name}, nullptr, run->parallel, rescale);
      }
      return restart({name}, nullptr, rescale);
    }
    case ApplyAction::kRecreate: {
      AppSpec spec = *step.spec;
      return remove({name}, [this, spec, then](const VerbResult& r) mutable {
        if (!r) return then(r);
        start(std::move(spec), then);
      });
    }
    case ApplyAction::kDelete:
      return remove({name}, then);
  }
}

}  // namespace herd::manager
