#include "daemon/supervisor.h"

#include <fmt/format.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <regex>
#include <set>
#include <thread>

#include "app/app_name.h"
#include "app/command.h"
#include "app/target_pattern.h"
#include "daemon/state_file.h"
#include "daemon/supervisor_internal.h"
#include "daemon/user.h"
#include "herd/base/log.h"

namespace herd::manager {
namespace {

using detail::countdown;
using detail::cpu_count;
using detail::verb_error;
using nlohmann::json;

}  // namespace

Supervisor::Supervisor(EventLoop& loop, Home home)
    : loop_(loop),
      home_(std::move(home)),
      notify_(loop),
      sigchld_(loop),
      sampler_(loop),
      depends_timer_(loop) {}

Supervisor::~Supervisor() {
  sampler_.stop();
  depends_timer_.stop();
  sigchld_.stop();
  // Instances still running (the daemon goes away without stopping them) kill their process
  // group and forget their pid in by_pid_, which is destroyed before apps_ would be.
  apps_.clear();
  // The loop has ended: a bounded wait is harmless, and the children killed above (and orphans
  // adopted as their subreaper) are reaped here, or their zombies would keep v1 groups busy.
  if (cgroups_) {
    cgroups_->remove_all(2000, [] {
      while (::waitpid(-1, nullptr, WNOHANG) > 0) {
      }
    });
  }
}

Status Supervisor::init() {
  // Orphans of our apps (a daemonizing grandchild) are re-parented to us, so we reap them and no
  // zombie is left behind.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  cgroups_ = CgroupTree::detect(home_.dir);
  log_info("daemon: {}", cgroups_->summary());
  if (Status s = notify_.bind(home_.notify_socket(),
                              [this](pid_t pid, std::string_view p) { on_notify(pid, p); });
      !s) {
    return s;
  }
  if (Status s = sigchld_.start(SIGCHLD, [this](int) { on_sigchld(); }); !s) return s;
  sigchld_.unref();
  sampler_.start(
      [this] {
        std::uint64_t now = loop_.now();
        std::vector<int> over;     // over max_memory_restart: looked up again, as acting on one
                                   // may change the lists (only these: a lookup is a scan)
        proc_groups_.next_tick();  // read at the first instance without a cgroup, if any
        cgroups_->sweep();
        for (auto& app : apps_) {
          std::uint64_t limit = app->spec.max_memory_restart;
          for (auto& inst : app->instances) {
            inst->sample(now, &proc_groups_);
            if (limit != 0 && inst->rss_bytes() > limit) over.push_back(inst->id());
          }
        }
        for (int id : over) {
          if (Instance* inst = instance_by_id(id)) check_memory(*inst);
        }
      },
      0, 1000);
  sampler_.unref();
  return {};
}

Instance* Supervisor::instance_for_pid(pid_t pid) const {
  // READY=1 may come from a descendant (a shell wrapper's child): walk up to a known instance.
  for (int depth = 0; depth < 16 && pid > 1; ++depth) {
    if (auto it = by_pid_.find(pid); it != by_pid_.end()) return it->second;
    auto s = sample_process(pid);
    if (!s) return nullptr;
    pid = s->ppid;
  }
  return nullptr;
}

// --- events ----------------------------------------------------------------------------------

void Supervisor::on_sigchld() {
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break;  // 0: none exited; -1 ECHILD: no children left
    if (!WIFEXITED(status) && !WIFSIGNALED(status)) continue;
    if (auto w = child_watchers_.find(pid); w != child_watchers_.end()) {
      auto cb = std::move(w->second);
      child_watchers_.erase(w);
      cb(status);
      continue;
    }
    auto it = by_pid_.find(pid);
    if (it == by_pid_.end()) continue;  // an orphan we adopted as subreaper, now reaped
    it->second->on_exit(status);
  }
}

void Supervisor::on_notify(pid_t sender, std::string_view payload) {
  Instance* inst = instance_for_pid(sender);
  if (inst == nullptr) return;
  std::string_view v;
  if (find_notify_field(payload, "STATUS", &v)) inst->set_status_text(std::string(v));
  if (find_notify_field(payload, "READY", &v) && v == "1") inst->on_ready();
  inst->on_watchdog_notify(payload);  // WATCHDOG=1, WATCHDOG=trigger, WATCHDOG_USEC=
  if (find_notify_field(payload, "HERD_METRICS", &v)) inst->on_metrics_notify(v);
  if (find_notify_field(payload, "STOPPING", &v) && v == "1") {
    inst->set_status_text("the app said it is stopping");
  }
}

std::shared_ptr<RotatingFile> Supervisor::log_file(const std::string& path, const AppSpec& spec) {
  if (auto it = log_files_.find(path); it != log_files_.end()) {
    if (auto f = it->second.lock()) return f;
  }
  RotatingFile::Options o;
  o.max_size = spec.log_max_size;
  o.max_files = static_cast<unsigned>(std::max(1, spec.log_max_files));
  o.dir_mode = 0755;
  auto f = std::make_shared<RotatingFile>(path, o);
  std::string p = path;
  f->set_error_callback(
      [p](const Error& e) { log_error("log file {}: {}; lines are dropped", p, e.message()); });
  (void)f->open();  // a failure is logged by the callback and shown by the instance
  log_files_[path] = f;
  return f;
}

void Supervisor::on_log_line(const Instance& inst, const char* stream, std::string_view line) {
  for (auto& [id, sub] : log_subs_) {
    if (!sub.ids.empty() && std::find(sub.ids.begin(), sub.ids.end(), inst.id()) == sub.ids.end()) {
      continue;
    }
    sub.cb(inst.app().name, inst.id(), stream, line);
  }
}

std::expected<std::uint64_t, VerbError> Supervisor::subscribe_logs(
    const std::vector<std::string>& targets, LogCallback cb) {
  LogSubscription sub;
  sub.cb = std::move(cb);
  bool everything = targets.empty() || (targets.size() == 1 && targets[0] == "all");
  if (!everything) {
    auto list = resolve(targets);
    if (!list) return std::unexpected(list.error());
    for (Instance* i : *list) sub.ids.push_back(i->id());
  }
  std::uint64_t id = next_sub_++;
  log_subs_.emplace(id, std::move(sub));
  return id;
}

void Supervisor::unsubscribe_logs(std::uint64_t id) { log_subs_.erase(id); }

// --- verbs -----------------------------------------------------------------------------------

void Supervisor::add_instances(App& app, int count, std::vector<Instance*>* added) {
  for (int k = 0; k < count; ++k) {
    // The lowest free instance index, so NODE_APP_INSTANCE stays 0..n-1 after scaling.
    int index = 0;
    while (std::any_of(app.instances.begin(), app.instances.end(),
                       [index](const auto& i) { return i->index() == index; })) {
      ++index;
    }
    app.instances.push_back(std::make_unique<Instance>(as_host(), app, next_id_++, index));
    added->push_back(app.instances.back().get());
  }
}

namespace {

// What start() refuses before it changes anything: a bad name, a program that cannot be found,
// an unknown uid/gid (PM2's --user, --uid, --gid, named), a bad instance count.
std::optional<VerbError> refuse_spec(const AppSpec& spec) {
  if (Status s = validate_app_name(spec.name); !s) {
    return verb_error(ErrorCode::kBadRequest, input_error_message(s.error()));
  }
  if (auto cmd = resolve_command(spec); !cmd) {
    return verb_error(ErrorCode::kSpawn, input_error_message(cmd.error()));
  }
  if (auto id = app_identity(spec.user, spec.group); !id) {
    return verb_error(ErrorCode::kBadRequest,
                      fmt::format("app '{}': {}", spec.name, id.error().context()));
  }
  if (Status s = validate_instances(spec.instances, cpu_count()); !s) {
    return verb_error(ErrorCode::kBadRequest, input_error_message(s.error()));
  }
  return std::nullopt;
}

}  // namespace

void Supervisor::start(AppSpec spec, Reply reply) {
  if (auto refused = refuse_spec(spec)) return reply(std::unexpected(std::move(*refused)));
  if (auto refused = refuse_limits(spec)) return reply(std::unexpected(std::move(*refused)));
  if (auto refused = refuse_dependencies(spec)) return reply(std::unexpected(std::move(*refused)));
  int count = spec.resolved_instances(cpu_count());
  App* app = find_app(spec.name);
  std::vector<Instance*> to_start;
  if (app != nullptr) {
    bool running =
        !app->incoming.empty() || std::any_of(app->instances.begin(), app->instances.end(),
                                              [](const auto& i) { return i->is_running(); });
    if (running) {
      reply(std::unexpected(verb_error(
          ErrorCode::kAppExists,
          fmt::format("app '{}' is already running; use `herd restart {}`, or give the new one "
                      "another name with --name",
                      spec.name, spec.name))));
      return;
    }
    // A stopped app started again: PM2 restarts it with the new description.
    app->spec = spec;
    for (auto& i : app->instances) to_start.push_back(i.get());
    // Deleted while a reload's old instance was still stopping: nothing left to start again.
    if (to_start.empty()) add_instances(*app, count, &to_start);
  } else {
    auto fresh = std::make_unique<App>(spec.name, spec);
    if (!spec.listen.empty()) {
      auto set = ListenSet::bind(spec.listen);
      if (!set) {
        reply(std::unexpected(verb_error(ErrorCode::kListen, set.error().message())));
        return;
      }
      fresh->sockets = std::move(*set);
    }
    apps_.push_back(std::move(fresh));
    app = apps_.back().get();
    add_instances(*app, count, &to_start);
  }
  if (!spec.autostart) return reply_registered(to_start, std::move(reply));
  if (std::string why = unmet_dependency(*app); !why.empty()) {
    hold_for_dependencies(*app, std::move(why));
    return reply_registered(to_start, std::move(reply));
  }
  for (Instance* i : to_start) (void)i->start();  // failures set the status, checked below

  // The first spawn error with every instance failed: nothing runs, so say so and forget it.
  bool all_failed = !to_start.empty() && std::all_of(to_start.begin(), to_start.end(), [](auto* i) {
    return i->status() == InstanceStatus::kErrored && !i->is_running();
  });
  if (all_failed) {
    std::string why = to_start.front()->status_text();
    std::string name = app->name;
    apps_.erase(
        std::remove_if(apps_.begin(), apps_.end(), [app](const auto& a) { return a.get() == app; }),
        apps_.end());
    reply(std::unexpected(verb_error(ErrorCode::kSpawn, fmt::format("app '{}': {}", name, why))));
    return;
  }
  // A trigger that cannot be armed is logged; the app runs without it.
  if (!app->triggers) app->triggers = make_triggers(*app);
  (void)app->triggers->arm();
  auto ids = std::make_shared<std::vector<int>>();
  for (Instance* i : to_start) ids->push_back(i->id());
  auto done = countdown(to_start.size(), [this, ids, reply] {
    std::vector<std::string> t;
    for (int id : *ids) t.push_back(std::to_string(id));
    auto list = resolve(t);
    reply(list ? list_result(*list) : VerbResult(json::array()));
  });
  for (Instance* i : to_start) i->when_settled(done);
}

// PM2's autostart: false (God.js executeApp): the app is registered and its instances stay
// `stopped` until a `start <name>` or `restart` starts them (and arms its watch and cron).
void Supervisor::reply_registered(const std::vector<Instance*>& instances, Reply reply) {
  std::vector<std::string> t;
  for (Instance* i : instances) t.push_back(std::to_string(i->id()));
  auto list = resolve(t);
  reply(list ? list_result(*list) : VerbResult(json::array()));
}

void Supervisor::arm_triggers_once(App& app) {
  if (app.triggers) return;
  app.triggers = make_triggers(app);
  (void)app.triggers->arm();  // a trigger that cannot be armed is logged
}

void Supervisor::stop_instances(std::vector<Instance*> list, std::function<void()> done) {
  auto each = countdown(list.size(), std::move(done));
  for (Instance* i : list) stop_with_replacement(i, each);
}

void Supervisor::stop(const std::vector<std::string>& targets, Reply reply) {
  auto list = resolve(targets);
  if (!list) return reply(std::unexpected(list.error()));
  std::vector<int> ids;
  for (Instance* i : *list) ids.push_back(i->id());
  stop_in_order(*list, [this, ids, reply] {
    // An app none of whose instances runs any more gives back the ports herd bound for it on
    // demand: they are free again, as with the program alone (`listen` addresses stay).
    for (auto& a : apps_) {
      if (std::none_of(a->instances.begin(), a->instances.end(),
                       [](const auto& i) { return i->is_running(); })) {
        a->sockets.release_on_demand();
        // PM2 stops watching an app it stops (Client.js executeRemote: stopWatch), and jlist
        // says watch: false from then on, also after a later restart.
        if (a->spec.watch && a->triggers) {
          a->spec.watch = false;
          (void)a->triggers->arm();  // a cron that cannot be armed was logged at start
        }
      }
    }
    std::vector<std::string> t;
    for (int id : ids) t.push_back(std::to_string(id));
    auto l = resolve(t);
    reply(l ? list_result(*l) : VerbResult(json::array()));
  });
}

void Supervisor::restart(const std::vector<std::string>& targets,
                         const std::map<std::string, std::string>* update_env, Reply reply) {
  auto list = resolve(targets);
  if (!list) return reply(std::unexpected(list.error()));
  if (update_env != nullptr) apply_update_env(*list, *update_env);
  auto ids = std::make_shared<std::vector<std::string>>();
  for (Instance* i : *list) ids->push_back(std::to_string(i->id()));
  auto all_settled = countdown(list->size(), [this, ids, reply] {
    auto l = resolve(*ids);
    reply(l ? list_result(*l) : VerbResult(json::array()));
  });
  for (Instance* i : *list) {
    int id = i->id();
    stop_with_replacement(i, [this, id, all_settled] {
      Instance* again = instance_by_id(id);
      if (again == nullptr) return all_settled();  // deleted meanwhile
      // An app waiting for its dependencies keeps waiting: it starts once they are met.
      if (!again->app().waiting_for.empty()) return all_settled();
      again->count_manual_restart();
      (void)again->start();             // a failure sets its status to errored
      arm_triggers_once(again->app());  // an app registered with autostart: false
      again->when_settled(all_settled);
    });
  }
}

void Supervisor::remove(const std::vector<std::string>& targets, Reply reply) {
  auto list = resolve(targets);
  if (!list) return reply(std::unexpected(list.error()));
  auto result = std::make_shared<json>(*list_result(*list));
  std::vector<int> ids;
  for (Instance* i : *list) ids.push_back(i->id());
  stop_in_order(*list, [this, ids, result, reply] {
    for (auto& a : apps_) {
      a->instances.erase(std::remove_if(a->instances.begin(), a->instances.end(),
                                        [&](const auto& i) {
                                          return std::find(ids.begin(), ids.end(), i->id()) !=
                                                 ids.end();
                                        }),
                         a->instances.end());
    }
    drop_empty_apps();
    for (auto& e : *result) e["pm2_env"]["status"] = "deleted";
    reply(*result);
  });
}

std::unique_ptr<AppTriggers> Supervisor::make_triggers(App& app) {
  return std::make_unique<AppTriggers>(
      loop_, home_, app,
      [this](const std::string& name, std::string reason) { restart_app_for(name, reason); });
}

void Supervisor::drop_empty_apps() {
  apps_.erase(std::remove_if(apps_.begin(), apps_.end(), [](const auto& a) { return a->idle(); }),
              apps_.end());
}

void Supervisor::scale(const std::string& name, const std::string& count, Reply reply) {
  App* app = find_app(name);
  if (app == nullptr) {
    return reply(std::unexpected(
        verb_error(ErrorCode::kUnknownTarget, fmt::format("no app named '{}' to scale", name))));
  }
  int current = static_cast<int>(app->instances.size());
  auto target = scale_target(count, current);
  if (!target) {
    return reply(std::unexpected(verb_error(ErrorCode::kBadRequest, target.error().context())));
  }
  int wanted = *target;
  if (wanted == current) {
    // PM2 7 answers "Nothing to do" and exits 1 (API.js scale).
    return reply(std::unexpected(verb_error(
        ErrorCode::kBadRequest,
        fmt::format("app '{}' already has {} instance(s): nothing to do", name, current))));
  }
  if (wanted > current) {
    std::vector<Instance*> added;
    add_instances(*app, wanted - current, &added);
    for (Instance* i : added) (void)i->start();  // a failure sets the instance's status
    auto done = countdown(added.size(), [this, name, reply] {
      std::vector<std::string> t{name};
      auto l = resolve(t);
      reply(l ? list_result(*l) : VerbResult(json::array()));
    });
    for (Instance* i : added) i->when_settled(done);
    return;
  }
  // Scale down: the oldest instances (lowest ids) go, gracefully, as PM2 7 does (API.js scale
  // deletes its process list from the front); those added later keep their ids, and an instance
  // added afterwards gets a fresh id and the lowest free NODE_APP_INSTANCE.
  std::vector<Instance*> by_id;
  for (auto& i : app->instances) by_id.push_back(i.get());
  std::sort(by_id.begin(), by_id.end(), [](Instance* a, Instance* b) { return a->id() < b->id(); });
  by_id.resize(static_cast<std::size_t>(current - wanted));
  std::vector<int> ids;
  for (Instance* i : by_id) ids.push_back(i->id());
  stop_instances(by_id, [this, app, ids, name, reply] {
    app->instances.erase(
        std::remove_if(
            app->instances.begin(), app->instances.end(),
            [&](const auto& i) { return std::find(ids.begin(), ids.end(), i->id()) != ids.end(); }),
        app->instances.end());
    json out = json::array();
    for (auto& i : app->instances) out.push_back(i->to_json());
    drop_empty_apps();
    reply(out);
  });
}

VerbResult Supervisor::reset(const std::vector<std::string>& targets) {
  auto list = resolve(targets);
  if (!list) return std::unexpected(list.error());
  for (Instance* i : *list) i->reset_counters();
  return list_result(*list);
}

VerbResult Supervisor::send_signal(const std::string& signal,
                                   const std::vector<std::string>& targets) {
  auto sig = parse_signal(signal);
  if (!sig)
    return std::unexpected(verb_error(ErrorCode::kBadRequest, input_error_message(sig.error())));
  auto list = resolve(targets);
  if (!list) return std::unexpected(list.error());
  for (Instance* i : *list) {
    if (i->is_running() && ::kill(i->pid(), *sig) < 0) {
      return std::unexpected(verb_error(
          ErrorCode::kSignal,
          Error::from_errno(fmt::format("kill {} (id {})", i->pid(), i->id())).message()));
    }
  }
  return list_result(*list);
}

void Supervisor::stop_all(std::function<void()> done) {
  std::vector<Instance*> all;
  std::vector<Instance*> retiring;
  for (auto& a : apps_) {
    for (auto& i : a->instances) all.push_back(i.get());
    for (auto& i : a->retiring) retiring.push_back(i.get());
  }
  // Old instances a reload is stopping are waited for too: no process outlives the daemon.
  auto each = countdown(retiring.size() + 1, std::move(done));
  for (Instance* i : retiring) i->stop(each);
  stop_in_order(all, each);  // dependants before their dependencies
}

}  // namespace herd::manager
