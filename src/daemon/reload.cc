// The Supervisor's rolling reload, and the restarts it triggers itself (max_memory_restart, and
// restart_app_for for cron and watch).
//
// A reload of one instance: a second Instance with the same pm_id and index (the replacement)
// starts on the app's sockets and sits in App::incoming. The old one keeps serving meanwhile;
// both accept from the same listening socket. When the replacement is ready it takes the old
// one's slot in App::instances, and the old one moves to App::retiring and is stopped
// gracefully (stop signal, kill_timeout, SIGKILL). When the replacement fails, it goes to
// App::retiring instead and the old one stays. Objects leave incoming/retiring only from a
// next-tick callback, never inside their own callbacks, and an App is dropped only when all
// three lists are empty, so a pending step never sees a destroyed App.
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "daemon/supervisor.h"
#include "daemon/supervisor_internal.h"
#include "herd/base/log.h"

namespace herd::manager {
namespace {

using detail::countdown;
using detail::verb_error;
using nlohmann::json;

std::string megabytes(std::uint64_t bytes) {
  return fmt::format("{:.1f} MB", static_cast<double>(bytes) / (1024.0 * 1024.0));
}

std::string who(const Instance& i) { return fmt::format("app {} (id {})", i.app().name, i.id()); }

}  // namespace

struct Supervisor::ReloadRun {
  std::vector<int> ids;
  std::size_t next = 0;  // the next id of `ids` to reload
  int running = 0;
  int parallel = 1;
  bool finished = false;
  std::string error;  // the first failure; no new instance is started after it
  std::vector<std::string> warnings;
  std::uint64_t started_ms = 0;
  Reply reply;
};

Instance* Supervisor::instance_by_id(int id) const {
  for (const auto& a : apps_) {
    for (const auto& i : a->instances) {
      if (i->id() == id) return i.get();
    }
  }
  return nullptr;
}

void Supervisor::apply_update_env(const std::vector<Instance*>& list,
                                  const std::map<std::string, std::string>& env) {
  // Laid over the environment each app had, as PM2 extends pm2_env.env: what `env` does not name
  // stays as it was.
  for (App* a : apps_of(list)) {
    for (const auto& [k, v] : env) a->spec.env[k] = v;
  }
}

void Supervisor::replace_app_env(const std::vector<std::string>& targets,
                                 const std::map<std::string, std::string>& env) {
  auto list = resolve(targets);
  if (!list) return;
  for (App* a : apps_of(*list)) {
    // A variable the file no longer sets goes (unless the shell sets it: laid on after this).
    for (const auto& [k, v] : a->spec.app_env) {
      if (!env.contains(k)) a->spec.env.erase(k);
    }
    a->spec.app_env = env;
  }
}

void Supervisor::reload(const std::vector<std::string>& targets,
                        const std::map<std::string, std::string>* update_env, int parallel,
                        Reply reply) {
  if (parallel < 1) {
    return reply(std::unexpected(verb_error(
        ErrorCode::kBadRequest, fmt::format("parallel must be 1 or more, not {}", parallel))));
  }
  auto list = resolve(targets);
  if (!list) return reply(std::unexpected(list.error()));
  if (update_env != nullptr) apply_update_env(*list, *update_env);
  std::vector<int> ids;
  for (Instance* i : *list) ids.push_back(i->id());
  reload_ids(std::move(ids), parallel, std::move(reply));
}

void Supervisor::restart_app_for(const std::string& app, std::string reason) {
  App* a = find_app(app);
  if (a == nullptr || a->instances.empty()) {
    log_warn("{}: no app named '{}' to restart", reason, app);
    return;
  }
  // Triggers can fire in bursts (a deploy touching many files, memory staying high): one
  // replacement at a time, never a second one for an instance that is already being replaced.
  if (!a->incoming.empty() ||
      std::any_of(a->instances.begin(), a->instances.end(),
                  [](const auto& i) { return i->status() == InstanceStatus::kStopping; })) {
    log_info("app {}: not restarted ({}): a reload, restart or stop is under way", app, reason);
    return;
  }
  log_info("app {}: {}: {}", app, a->cluster() ? "reloading" : "restarting", reason);
  std::vector<int> ids;
  for (const auto& i : a->instances) ids.push_back(i->id());
  reload_ids(std::move(ids), 1, [app, reason](const VerbResult& r) {
    if (!r) log_error("app {}: {}: {}", app, reason, r.error().message);
  });
}

void Supervisor::reload_ids(std::vector<int> ids, int parallel, Reply reply) {
  auto run = std::make_shared<ReloadRun>();
  run->ids = std::move(ids);
  run->parallel = parallel;
  run->started_ms = loop_.now();
  run->reply = std::move(reply);
  reload_pump(run);
}

void Supervisor::reload_pump(std::shared_ptr<ReloadRun> run) {
  if (run->finished) return;
  while (run->error.empty() && run->running < run->parallel && run->next < run->ids.size()) {
    Instance* inst = instance_by_id(run->ids[run->next++]);
    if (inst == nullptr) continue;  // deleted since the reload began
    ++run->running;
    reload_instance(*inst, [this, run](std::string error, std::string warning) {
      // Deferred: this may run inside an instance's callback, or before reload_instance returns.
      loop_.next_tick([this, run, error = std::move(error), warning = std::move(warning)] {
        --run->running;
        if (!warning.empty() &&
            std::find(run->warnings.begin(), run->warnings.end(), warning) == run->warnings.end()) {
          run->warnings.push_back(warning);
        }
        if (!error.empty() && run->error.empty()) run->error = error;
        reload_pump(run);
      });
    });
  }
  if (run->running > 0) return;
  run->finished = true;
  if (!run->error.empty()) {
    run->reply(std::unexpected(verb_error(ErrorCode::kReload, run->error)));
    return;
  }
  json processes = json::array();
  for (int id : run->ids) {
    if (Instance* i = instance_by_id(id)) processes.push_back(i->to_json());
  }
  run->reply(json{{"processes", processes},
                  {"warnings", run->warnings},
                  {"duration_ms", loop_.now() - run->started_ms}});
}

void Supervisor::reload_instance(Instance& old, ReloadDone done) {
  App& app = old.app();
  if (old.reloading()) {
    return done(fmt::format("{} is already being reloaded", who(old)), "");
  }
  if (!app.cluster()) {
    return restart_instance(
        old, std::move(done),
        fmt::format("app '{}' has no socket held by herd (fork mode without --listen): a second "
                    "copy could not take over its port, so it was restarted, not reloaded",
                    app.name));
  }
  if (old.status() != InstanceStatus::kOnline) {
    // Nothing serves that a replacement could take over from: start it afresh.
    return restart_instance(old, std::move(done), "");
  }
  app.incoming.push_back(std::make_unique<Instance>(as_host(), app, old.id(), old.index()));
  Instance* next = app.incoming.back().get();
  next->take_other_health_port(old);  // both run at once: each must be probed on its own
  App* ap = &app;
  Status s = next->start_replacement([this, ap, next, done](std::string failure) {
    loop_.next_tick([this, ap, next, done, failure = std::move(failure)] {
      finish_replacement(ap, next, failure, done);
    });
  });
  if (!s) {
    std::string why = fmt::format(
        "reload of {} aborted: its replacement could not start: {}; the "
        "old instance (pid {}) keeps serving",
        who(old), s.error().message(), old.pid());
    log_error("{}", why);
    app.retiring.push_back(std::move(app.incoming.back()));
    app.incoming.pop_back();
    retire(ap, next, [done, why] { done(why, ""); });
    return;
  }
  old.set_replacement_pid(next->pid());
  log_info("{}: reloading: replacement pid {} started next to pid {}", who(old), next->pid(),
           old.pid());
}

void Supervisor::restart_instance(Instance& old, ReloadDone done, std::string warning) {
  if (!warning.empty()) log_warn("{}", warning);
  int id = old.id();
  stop_with_replacement(&old, [this, id, done, warning] {
    Instance* i = instance_by_id(id);
    if (i == nullptr) return done(fmt::format("id {} was deleted during its restart", id), warning);
    if (!i->app().waiting_for.empty()) return done("", warning);  // starts once deps are met
    i->count_manual_restart();
    if (Status s = i->start(); !s) {
      return done(fmt::format("restart of {} failed: {}", who(*i), s.error().message()), warning);
    }
    i->when_settled([this, id, done, warning] {
      Instance* j = instance_by_id(id);
      if (j != nullptr && j->status() == InstanceStatus::kErrored) {
        return done(fmt::format("{} errored after its restart: {}", who(*j), j->status_text()),
                    warning);
      }
      done("", warning);
    });
  });
}

void Supervisor::finish_replacement(App* app, Instance* next, std::string failure,
                                    ReloadDone done) {
  auto it = std::find_if(app->incoming.begin(), app->incoming.end(),
                         [next](const auto& p) { return p.get() == next; });
  if (it == app->incoming.end()) return;  // cannot happen: only this function removes it
  std::unique_ptr<Instance> owned = std::move(*it);
  app->incoming.erase(it);
  Instance* old = nullptr;
  for (auto& i : app->instances) {
    if (i->id() == next->id()) old = i.get();
  }
  if (old != nullptr) {
    old->set_replacement_pid(0);
    if (!failure.empty()) old->write_pid_file();  // the replacement's start overwrote it
  }
  if (failure.empty() &&
      (old == nullptr || old->stop_requested() || old->status() == InstanceStatus::kStopped)) {
    failure = "the instance was stopped or deleted while its replacement started";
  }
  std::string name = fmt::format("app {} (id {})", app->name, next->id());
  if (!failure.empty()) {
    std::string why =
        old != nullptr && old->is_running()
            ? fmt::format(
                  "reload of {} aborted: the replacement failed: {}; the old instance "
                  "(pid {}) keeps serving",
                  name, failure, old->pid())
            : fmt::format("reload of {} aborted: the replacement failed: {}", name, failure);
    log_error("{}", why);
    app->retiring.push_back(std::move(owned));
    retire(app, next, [done, why] { done(why, ""); });
    return;
  }
  owned->take_over_from(*old);
  for (auto& slot : app->instances) {
    if (slot.get() == old) {
      slot.swap(owned);  // `owned` now holds the old instance
      break;
    }
  }
  log_info("{}: replacement pid {} is ready; stopping pid {}", name, next->pid(), old->pid());
  app->retiring.push_back(std::move(owned));
  retire(app, old, [done] { done("", ""); });
}

void Supervisor::retire(App* app, Instance* inst, std::function<void()> then) {
  inst->stop([this, app, inst, then] {
    loop_.next_tick([this, app, inst, then] {
      std::erase_if(app->retiring, [inst](const auto& p) { return p.get() == inst; });
      then();
      drop_empty_apps();
    });
  });
}

void Supervisor::stop_with_replacement(Instance* inst, std::function<void()> done) {
  std::vector<Instance*> all{inst};
  for (auto& r : inst->app().incoming) {
    if (r->id() == inst->id()) all.push_back(r.get());
  }
  auto each = countdown(all.size(), std::move(done));
  for (Instance* i : all) i->stop(each);
}

void Supervisor::check_memory(Instance& inst) {
  std::uint64_t limit = inst.app().spec.max_memory_restart;
  if (limit == 0 || inst.rss_bytes() <= limit) return;
  if (inst.status() != InstanceStatus::kOnline || inst.reloading() || inst.stop_requested()) return;
  log_warn("{}: memory {} is over max_memory_restart {}: {}", who(inst),
           megabytes(inst.rss_bytes()), megabytes(limit),
           inst.app().cluster() ? "reloading it" : "restarting it");
  std::string name = who(inst);
  reload_instance(inst, [name](const std::string& error, const std::string&) {
    if (!error.empty()) log_error("{}: memory restart: {}", name, error);
  });
}

}  // namespace herd::manager
