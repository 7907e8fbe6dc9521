// The daemon's answer to each verb of the control protocol: a handler per verb, found through
// one table indexed by Verb (protocol/verbs.h). The edge (protocol/control_request.h) has
// refused unknown verbs and fields before a request gets here.
#include <fcntl.h>
#include <fmt/format.h>
#include <malloc.h>
#include <unistd.h>

#include <array>
#include <utility>

#include "app/depends.h"
#include "daemon/cluster_mode/inject_files.h"
#include "daemon/daemon_impl.h"
#include "daemon/takeover.h"
#include "herd/base/log.h"
#include "logs/daemon_log.h"
#include "protocol/version.h"

namespace herd::manager::detail {
namespace {

using nlohmann::json;

// What restart and reload lay over each process's environment, in PM2's order (lib/API.js
// _operate, God.restartProcessId): the CLI's environment (--update-env), then the variables the
// ecosystem file sets when the request read it again (`herd restart eco.config.js`). nullopt:
// neither, the environment stays frozen.
std::optional<std::map<std::string, std::string>> env_update(
    const std::optional<std::map<std::string, std::string>>& update_env,
    const std::optional<std::map<std::string, std::string>>& app_env) {
  if (!update_env && !app_env) return std::nullopt;
  std::map<std::string, std::string> out =
      update_env.value_or(std::map<std::string, std::string>{});
  if (app_env) {
    for (const auto& [k, v] : *app_env) out[k] = v;
  }
  return out;
}

}  // namespace

Daemon::Handler Daemon::handler_of(Verb verb) {
  // Every verb with its handler, in the enum's order (checked below). A data table.
  static constexpr std::array<std::pair<Verb, Handler>, kVerbCount> kHandlers = {{
      {Verb::kPing, &Daemon::ping},
      {Verb::kJlist, &Daemon::jlist},
      {Verb::kStart, &Daemon::start_apps},
      {Verb::kStop, &Daemon::stop},
      {Verb::kRestart, &Daemon::restart},
      {Verb::kReload, &Daemon::reload},
      {Verb::kDelete, &Daemon::remove},
      {Verb::kScale, &Daemon::scale},
      {Verb::kReset, &Daemon::reset},
      {Verb::kSignal, &Daemon::send_signal},
      {Verb::kDescribe, &Daemon::describe},
      {Verb::kEnv, &Daemon::env},
      {Verb::kFlush, &Daemon::flush},
      {Verb::kSave, &Daemon::save},
      {Verb::kResurrect, &Daemon::resurrect},
      {Verb::kLogs, &Daemon::stream_logs},
      {Verb::kKill, &Daemon::kill},
      {Verb::kUpdate, &Daemon::update},
      {Verb::kReloadLogs, &Daemon::reload_logs},
      {Verb::kApply, &Daemon::apply},
      {Verb::kHeapdump, &Daemon::diagnose},
      {Verb::kProfile, &Daemon::diagnose},
  }};
  static_assert(
      [] {
        for (std::size_t i = 0; i < kHandlers.size(); ++i) {
          if (static_cast<std::size_t>(kHandlers[i].first) != i) return false;
        }
        return true;
      }(),
      "kHandlers has every Verb once, in the enum's order");
  return kHandlers[static_cast<std::size_t>(verb)].second;
}

void Daemon::handle(ControlRequest req, std::shared_ptr<ControlConnection> c) {
  Verb verb = req.verb->verb;
  if (quitting_ && verb != Verb::kPing) {
    c->reply_error(req.id, {ErrorCode::kQuitting, "the daemon is shutting down"});
    return;
  }
  Call call{std::move(req.id), read_request(verb, req.body), std::move(c), verb};
  (this->*handler_of(verb))(call);
  trim_later();
}

void Daemon::trim_later() {
  constexpr std::uint64_t kQuietMs = 2000;  // after the last request or reply
  trim_.start([] { ::malloc_trim(0); }, kQuietMs);
}

Reply Daemon::answer(const Call& call) {
  return [this, c = call.c, id = call.id](VerbResult r) {
    sup_.persist_running();  // a verb may have changed what runs
    trim_later();
    if (r) {
      c->reply_ok(id, std::move(*r));
    } else {
      c->reply_error(id, r.error());
    }
  };
}

void Daemon::ping(Call& call) {
  call.c->reply_ok(call.id, {{"pong", true},
                             {"pid", ::getpid()},
                             {"version", kHerdVersion},
                             {"home", home_.dir},
                             {"updates", updates_},
                             {"binary", binary_},
                             {"metrics", ping_metrics()},
                             {"cgroups", sup_.cgroups_json()}});
}

void Daemon::jlist(Call& call) {
  const auto& r = std::get<ListRequest>(call.request);
  Instance::Detail detail = r.rows    ? Instance::Detail::kRow
                            : r.brief ? Instance::Detail::kBrief
                                      : Instance::Detail::kFull;
  call.c->reply_ok_text(call.id, sup_.jlist_text(detail));
}

void Daemon::stop(Call& call) {
  sup_.stop(std::get<TargetsRequest>(call.request).targets, answer(call));
}

void Daemon::restart(Call& call) {
  const auto& r = std::get<RestartRequest>(call.request);
  if (r.app_env) sup_.replace_app_env(r.targets, *r.app_env);
  auto env = env_update(r.update_env, r.app_env);
  sup_.restart(r.targets, env ? &*env : nullptr, answer(call));
}

void Daemon::reload(Call& call) {
  const auto& r = std::get<ReloadRequest>(call.request);
  if (r.app_env) sup_.replace_app_env(r.targets, *r.app_env);
  auto env = env_update(r.update_env, r.app_env);
  sup_.reload(r.targets, env ? &*env : nullptr, r.parallel.value_or(1), answer(call));
}

void Daemon::remove(Call& call) {
  sup_.remove(std::get<TargetsRequest>(call.request).targets, answer(call));
}

void Daemon::scale(Call& call) {
  const auto& r = std::get<ScaleRequest>(call.request);
  sup_.scale(r.app, r.count, answer(call));
}

void Daemon::reset(Call& call) {
  answer(call)(sup_.reset(std::get<TargetsRequest>(call.request).targets));
}

void Daemon::send_signal(Call& call) {
  const auto& r = std::get<SignalRequest>(call.request);
  answer(call)(sup_.send_signal(r.signal, r.targets));
}

void Daemon::describe(Call& call) {
  answer(call)(sup_.describe(std::get<TargetsRequest>(call.request).targets));
}

void Daemon::env(Call& call) {
  answer(call)(sup_.env_of(std::get<EnvRequest>(call.request).target));
}

void Daemon::flush(Call& call) {
  answer(call)(sup_.flush(std::get<TargetsRequest>(call.request).targets));
}

void Daemon::save(Call& call) {
  answer(call)(sup_.save(std::get<SaveRequest>(call.request).force));
}

// heapdump, profile: answered when the app has written its file (a profile's duration later),
// without holding the loop meanwhile.
void Daemon::diagnose(Call& call) {
  sup_.diagnose(call.verb, std::get<DiagnosticRequest>(call.request),
                [c = call.c, id = call.id](VerbResult r) {
                  if (r) {
                    c->reply_ok(id, std::move(*r));
                  } else {
                    c->reply_error(id, r.error());
                  }
                });
}

void Daemon::reload_logs(Call& call) {
  json reopened = sup_.reopen_logs();
  // herd.log too: the log line below is the first one written to the file at its path.
  DaemonLog::request_reopen();
  log_info("reloadLogs: reopened {} app log file(s) and herd.log", reopened.size());
  call.c->reply_ok(call.id, {{"reopened", reopened}});
}

void Daemon::resurrect(Call& call) { sup_.resurrect(answer(call)); }

void Daemon::kill(Call& call) {
  shutdown([c = call.c, id = call.id] { c->reply_ok(id, {{"killed", true}}); });
}

void Daemon::apply(Call& call) {
  const auto& r = std::get<ApplyRequest>(call.request);
  std::vector<AppSpec> specs;
  for (const auto& j : r.apps) {
    auto spec = app_spec_from_json(j);
    if (!spec) {
      call.c->reply_error(call.id, {ErrorCode::kBadRequest, input_error_message(spec.error())});
      return;
    }
    specs.push_back(std::move(*spec));
  }
  ApplyOptions o{.prune = r.prune};
  if (r.unchanged == "restart") {
    o.unchanged = ApplyAction::kRestart;
  } else if (r.unchanged == "reload") {
    o.unchanged = ApplyAction::kReload;
  } else if (!r.unchanged.empty()) {
    call.c->reply_error(call.id, {ErrorCode::kBadRequest,
                                  fmt::format("unchanged: expected \"restart\" or \"reload\", "
                                              "got \"{}\"",
                                              r.unchanged)});
    return;
  }
  sup_.apply(std::move(specs), o, r.parallel.value_or(1), answer(call));
}

void Daemon::start_apps(Call& call) {
  std::vector<AppSpec> specs;
  for (const auto& j : std::get<StartRequest>(call.request).apps) {
    auto spec = app_spec_from_json(j);
    if (!spec) {
      call.c->reply_error(call.id, {ErrorCode::kBadRequest, input_error_message(spec.error())});
      return;
    }
    specs.push_back(std::move(*spec));
  }
  start_specs(std::move(specs), [c = call.c, id = call.id](StartOutcome o) {
    if (o.processes.empty() && !o.errors.empty()) {
      c->reply_error(id, o.errors[0]);
    } else {
      c->reply_ok(id, {{"processes", o.processes}, {"errors", o.errors}, {"warnings", o.warnings}});
    }
  });
}

void Daemon::start_specs(std::vector<AppSpec> specs, std::function<void(StartOutcome)> done) {
  // Dependencies first (depends_on): each app is registered before the apps that wait for it.
  specs = in_dependency_order(std::move(specs));
  auto outcome = std::make_shared<StartOutcome>();
  for (const auto& spec : specs) {
    if (auto w = injection_warning(spec)) {
      log_warn("{}", *w);
      outcome->warnings.push_back(*w);
    }
  }
  if (specs.empty()) {
    done(std::move(*outcome));
    return;
  }
  auto left = std::make_shared<std::size_t>(specs.size());
  auto finish = std::make_shared<std::function<void(StartOutcome)>>(std::move(done));
  for (auto& spec : specs) {
    sup_.start(std::move(spec), [this, outcome, left, finish](VerbResult r) {
      if (r) {
        for (auto& e : *r) outcome->processes.push_back(e);
      } else {
        outcome->errors.push_back(r.error());
      }
      if (--*left == 0) {
        sup_.persist_running();
        (*finish)(std::move(*outcome));
      }
    });
  }
}

void Daemon::stream_logs(Call& call) {
  std::weak_ptr<ControlConnection> weak = call.c;
  // A client that reads slower than the apps write (more than 4 MiB behind) misses lines; it is
  // told how many, in a "skipped" event before the next line it gets (the files have them all).
  auto skipped = std::make_shared<std::uint64_t>(0);
  auto on_line = [weak, skipped, id = call.id](const std::string& app, int pm_id,
                                               const char* stream, std::string_view line) {
    auto conn = weak.lock();
    if (!conn) return;
    if (*skipped > 0 && conn->send({{"id", id}, {"event", "skipped"}, {"lines", *skipped}})) {
      *skipped = 0;
    }
    if (*skipped > 0 || !conn->send({{"id", id},
                                     {"event", "log"},
                                     {"app", app},
                                     {"pm_id", pm_id},
                                     {"stream", stream},
                                     {"line", std::string(line)}})) {
      ++*skipped;
    }
  };
  auto sub = sup_.subscribe_logs(std::get<TargetsRequest>(call.request).targets, on_line);
  if (!sub) {
    call.c->reply_error(call.id, sub.error());
    return;
  }
  std::uint64_t sub_id = *sub;
  call.c->on_close([this, sub_id] { sup_.unsubscribe_logs(sub_id); });
  call.c->reply_ok(call.id, {{"streaming", true}});
}

void Daemon::update(Call& call) {
  const json& id = call.id;
  ControlConnection* c = call.c.get();
  std::string binary = std::get<UpdateRequest>(call.request).binary;
  if (binary.empty() || binary[0] != '/') {
    c->reply_error(
        id, {ErrorCode::kBadRequest, "\"binary\" must be the absolute path of a herd binary"});
    return;
  }
  auto version = probe_herd_binary(binary);
  if (!version) {
    log_warn("update: {}; this daemon keeps running", version.error().context());
    c->reply_error(id, {ErrorCode::kUpdate,
                        fmt::format("{}; the daemon keeps running", version.error().context())});
    return;
  }
  if (std::string busy = sup_.takeover_busy(); !busy.empty()) {
    c->reply_error(id, {ErrorCode::kBusy, fmt::format("cannot update while {}; try again", busy)});
    return;
  }
  std::vector<int> keep;
  json state = {{"takeover_version", kTakeoverVersion},
                {"from_version", kHerdVersion},
                {"binary", binary},
                {"updates", updates_},
                {"supervisor", sup_.takeover_state(&keep)},
                {"control_fd", server_.listener_fd()},
                {"client_fd", c->fd()},
                {"request_id", id}};
  keep.push_back(server_.listener_fd());
  keep.push_back(c->fd());
  if (foreground_) extra_args_.push_back("--foreground");
  // The binary this process runs, to go back to if the new one cannot take over.
  int self = ::open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (self >= 0) {
    state["fallback_exe_fd"] = self;
    keep.push_back(self);
  }
  std::vector<std::string> extra = extra_args_;
  extra_args_.clear();
  if (metrics_) {
    std::string a = metrics_->address();
    extra.push_back("--metrics-port");
    extra.push_back(a.substr(a.rfind(':') + 1));
    extra.push_back("--metrics-addr");
    extra.push_back(metrics_endpoint_->host);
  }
  state["keep"] = keep;
  state["extra_args"] = extra;
  log_info("update: handing {} app process(es) over to {} (herd {})", sup_.process_count(), binary,
           *version);
  Error e = exec_takeover(binary, state, keep, extra);
  if (self >= 0) ::close(self);
  log_error("update: {}; this daemon keeps running", e.message());
  c->reply_error(id,
                 {ErrorCode::kUpdate, fmt::format("{}; the daemon keeps running", e.message())});
}

}  // namespace herd::manager::detail
