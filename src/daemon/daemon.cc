#include "daemon/daemon.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "daemon/cluster_mode/inject_files.h"
#include "daemon/control_server.h"
#include "daemon/keeper.h"
#include "daemon/state_file.h"
#include "daemon/supervisor.h"
#include "daemon/takeover.h"
#include "herd/base/log.h"
#include "herd/loop/event_loop.h"
#include "herd/loop/signal.h"
#include "logs/daemon_log.h"
#include "metrics/metrics_listener.h"
#include "metrics/prometheus_text.h"
#include "protocol/control_request.h"

namespace herd::manager {
namespace {

using nlohmann::json;

constexpr const char* kVersion = "0.1.0";

class Daemon {
 public:
  Daemon(EventLoop& loop, const Home& home, std::optional<std::uint16_t> metrics_port,
         bool foreground)
      : loop_(loop),
        home_(home),
        metrics_port_(metrics_port),
        sup_(loop, home),
        server_(loop, [this](const json& r,
                             std::shared_ptr<ControlConnection> c) { handle(r, std::move(c)); }),
        sigterm_(loop),
        sigint_(loop) {
    foreground_ = foreground;
  }

  // `previous`: the pid of a daemon that died before this one (keeper.h), or 0.
  Status start(pid_t previous) {
    if (Status s = sup_.init(); !s) return s;
    if (Status s = server_.listen(home_.socket()); !s) return s;
    // What ran when a daemon died uncleanly comes back before the first request is answered
    // (each app as it settles), and the first CLI command says so.
    server_.set_notice(sup_.restore_running(previous));
    return start_signals_and_metrics();
  }

  // After `herd update` (takeover.h): the state of the daemon this process was, adopted.
  Status start_takeover(const json& state, int state_fd) {
    if (Status s = sup_.init(); !s) return s;
    if (Status s = server_.adopt(Fd(state.at("control_fd").get<int>()), home_.socket()); !s) {
      return s;
    }
    if (Status s = sup_.adopt_state(state.at("supervisor")); !s) return s;
    updates_ = state.value("updates", 0) + 1;
    binary_ = state.value("binary", "");
    std::string from = state.value("from_version", "?");
    log_info("daemon: updated from herd {} to {} ({}), {} app process(es) kept", from, kVersion,
             binary_, sup_.jlist().size());
    if (int fd = state.value("fallback_exe_fd", -1); fd >= 0) ::close(fd);
    ::close(state_fd);
    // Kept open across exec for us; no app spawned from now on may inherit them.
    for (int fd : state.value("keep", std::vector<int>())) {
      int flags = ::fcntl(fd, F_GETFD);
      if (flags >= 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    }
    int client = state.value("client_fd", -1);
    if (client >= 0) {
      auto c = server_.adopt_connection(Fd(client));
      c->reply_ok(state.at("request_id"), {{"version", kVersion},
                                           {"from_version", from},
                                           {"pid", ::getpid()},
                                           {"binary", binary_},
                                           {"processes", sup_.jlist()}});
    }
    sup_.persist_running();
    return start_signals_and_metrics();
  }

 private:
  Status start_signals_and_metrics() {
    auto quit = [this](int signum) {
      log_info("daemon: {} received, stopping every app", signum == SIGTERM ? "SIGTERM" : "SIGINT");
      shutdown(nullptr);
    };
    if (Status s = sigterm_.start(SIGTERM, quit); !s) return s;
    if (Status s = sigint_.start(SIGINT, quit); !s) return s;
    sigterm_.unref();
    sigint_.unref();
    start_metrics();
    return {};
  }

  // `herd update` (takeover.h): checks the binary and that every app is settled, then execs it
  // with this daemon's state; it answers `c` itself. Here only when that could not happen.
  void update(const json& req, const json& id, std::shared_ptr<ControlConnection> c) {
    std::string binary = req.value("binary", "");
    if (binary.empty() || binary[0] != '/') {
      c->reply_error(id, "E_BAD_REQUEST", "\"binary\" must be the absolute path of a herd binary");
      return;
    }
    auto version = probe_herd_binary(binary);
    if (!version) {
      log_warn("update: {}; this daemon keeps running", version.error().context());
      c->reply_error(id, "E_UPDATE",
                     fmt::format("{}; the daemon keeps running", version.error().context()));
      return;
    }
    if (std::string busy = sup_.takeover_busy(); !busy.empty()) {
      c->reply_error(id, "E_BUSY", fmt::format("cannot update while {}; try again", busy));
      return;
    }
    std::vector<int> keep;
    json state = {{"takeover_version", kTakeoverVersion},
                  {"from_version", kVersion},
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
    }
    state["keep"] = keep;
    state["extra_args"] = extra;
    log_info("update: handing {} app process(es) over to {} (herd {})", sup_.jlist().size(), binary,
             *version);
    Error e = exec_takeover(binary, state, keep, extra);
    if (self >= 0) ::close(self);
    log_error("update: {}; this daemon keeps running", e.message());
    c->reply_error(id, "E_UPDATE", fmt::format("{}; the daemon keeps running", e.message()));
  }

 private:
  // The /metrics listener, when asked for. Failing to bind is not fatal: the apps matter more
  // than their metrics, and `herd ping` says what went wrong.
  void start_metrics() {
    if (!metrics_port_) return;
    metrics_ = std::make_unique<MetricsListener>(loop_, [this] {
      auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch());
      return prometheus_text(sup_.jlist(), now.count());
    });
    if (Status s = metrics_->listen(*metrics_port_); !s) {
      metrics_error_ = s.error().message();
      metrics_.reset();
      log_error("daemon: no metrics listener: {}", metrics_error_);
      return;
    }
    log_info("daemon: metrics on http://{}/metrics", metrics_->address());
  }

  json ping_metrics() const {
    if (metrics_) return {{"address", metrics_->address()}};
    if (!metrics_error_.empty()) return {{"error", metrics_error_}};
    return nullptr;
  }

  void shutdown(std::function<void()> then) {
    if (quitting_) return;
    quitting_ = true;
    if (metrics_) metrics_->close();
    sup_.stop_all([this, then = std::move(then)] {
      // A clean stop: nothing is to come back by itself.
      sup_.forget_running();
      if (then) then();
      sigterm_.stop();
      sigint_.stop();
      // With the listener closed and every app stopped, the loop ends once the last client
      // connection has flushed its reply.
      server_.stop_accepting();
    });
  }

  void handle(const json& req, std::shared_ptr<ControlConnection> c) {
    json id = req.contains("id") ? req["id"] : json(nullptr);
    std::string verb = req["verb"].get<std::string>();
    auto answer = [this, c, id](VerbResult r) {
      sup_.persist_running();  // a verb may have changed what runs
      if (r) {
        c->reply_ok(id, std::move(*r));
      } else {
        c->reply_error(id, r.error().code, r.error().message);
      }
    };
    if (quitting_ && verb != "ping") {
      c->reply_error(id, "E_QUITTING", "the daemon is shutting down");
      return;
    }
    if (verb == "ping") {
      c->reply_ok(id, {{"pong", true},
                       {"pid", ::getpid()},
                       {"version", kVersion},
                       {"home", home_.dir},
                       {"updates", updates_},
                       {"binary", binary_},
                       {"metrics", ping_metrics()}});
    } else if (verb == "list" || verb == "jlist") {
      c->reply_ok(id, sup_.jlist());
    } else if (verb == "start") {
      start_apps(req, id, c);
    } else if (verb == "stop") {
      sup_.stop(targets_of(req), answer);
    } else if (verb == "restart" || verb == "reload") {
      std::map<std::string, std::string> env;
      bool update = req.contains("update_env") && req["update_env"].is_object();
      if (update) {
        for (auto& [k, v] : req["update_env"].items()) {
          if (v.is_string()) env[k] = v.get<std::string>();
        }
      }
      if (verb == "reload") {
        int parallel = 1;
        if (req.contains("parallel")) {
          if (!req["parallel"].is_number_integer()) {
            c->reply_error(id, "E_BAD_REQUEST", "parallel must be a whole number");
            return;
          }
          parallel = req["parallel"].get<int>();
        }
        sup_.reload(targets_of(req), update ? &env : nullptr, parallel, answer);
      } else {
        sup_.restart(targets_of(req), update ? &env : nullptr, answer);
      }
    } else if (verb == "delete") {
      sup_.remove(targets_of(req), answer);
    } else if (verb == "scale") {
      sup_.scale(req.value("app", ""), req.value("count", ""), answer);
    } else if (verb == "reset") {
      answer(sup_.reset(targets_of(req)));
    } else if (verb == "signal") {
      answer(sup_.send_signal(req.value("signal", ""), targets_of(req)));
    } else if (verb == "describe") {
      answer(sup_.describe(targets_of(req)));
    } else if (verb == "env") {
      answer(sup_.env_of(req.value("target", "")));
    } else if (verb == "flush") {
      answer(sup_.flush(targets_of(req)));
    } else if (verb == "save") {
      answer(sup_.save(req.value("force", false)));
    } else if (verb == "resurrect") {
      sup_.resurrect(answer);
    } else if (verb == "logs") {
      stream_logs(req, id, c);
    } else if (verb == "update") {
      update(req, id, c);
    } else if (verb == "kill") {
      shutdown([c, id] { c->reply_ok(id, {{"killed", true}}); });
    } else {
      c->reply_error(id, "E_UNKNOWN_VERB", fmt::format("unknown verb '{}'", verb));
    }
  }

  void start_apps(const json& req, const json& id, std::shared_ptr<ControlConnection> c) {
    if (!req.contains("apps") || !req["apps"].is_array() || req["apps"].empty()) {
      c->reply_error(id, "E_BAD_REQUEST", "start needs \"apps\": [app description, ...]");
      return;
    }
    std::vector<AppSpec> specs;
    for (const auto& j : req["apps"]) {
      auto spec = app_spec_from_json(j);
      if (!spec) {
        c->reply_error(id, "E_BAD_REQUEST", input_error_message(spec.error()));
        return;
      }
      specs.push_back(std::move(*spec));
    }
    auto processes = std::make_shared<json>(json::array());
    auto errors = std::make_shared<json>(json::array());
    auto warnings = std::make_shared<json>(json::array());
    for (const auto& spec : specs) {
      if (auto w = injection_warning(spec)) {
        log_warn("{}", *w);
        warnings->push_back(*w);
      }
    }
    auto left = std::make_shared<std::size_t>(specs.size());
    for (auto& spec : specs) {
      sup_.start(std::move(spec), [this, c, id, processes, errors, warnings, left](VerbResult r) {
        if (r) {
          for (auto& e : *r) processes->push_back(e);
        } else {
          errors->push_back({{"code", r.error().code}, {"message", r.error().message}});
        }
        if (--*left == 0) {
          sup_.persist_running();
          if (processes->empty() && !errors->empty()) {
            c->reply_error(id, (*errors)[0]["code"], (*errors)[0]["message"]);
          } else {
            c->reply_ok(id,
                        {{"processes", *processes}, {"errors", *errors}, {"warnings", *warnings}});
          }
        }
      });
    }
  }

  void stream_logs(const json& req, const json& id, std::shared_ptr<ControlConnection> c) {
    std::weak_ptr<ControlConnection> weak = c;
    auto sub = sup_.subscribe_logs(
        targets_of(req),
        [weak, id](const std::string& app, int pm_id, const char* stream, std::string_view line) {
          if (auto conn = weak.lock()) {
            conn->send({{"id", id},
                        {"event", "log"},
                        {"app", app},
                        {"pm_id", pm_id},
                        {"stream", stream},
                        {"line", std::string(line)}});
          }
        });
    if (!sub) {
      c->reply_error(id, sub.error().code, sub.error().message);
      return;
    }
    std::uint64_t sub_id = *sub;
    c->on_close([this, sub_id] { sup_.unsubscribe_logs(sub_id); });
    c->reply_ok(id, {{"streaming", true}});
  }

  EventLoop& loop_;
  const Home& home_;
  std::optional<std::uint16_t> metrics_port_;
  Supervisor sup_;
  ControlServer server_;
  Signal sigterm_;
  Signal sigint_;
  bool quitting_ = false;
  int updates_ = 0;  // `herd update`s this process went through
  bool foreground_ = false;
  std::vector<std::string> extra_args_;
  std::string binary_;                        // the binary it was updated to, "" before any
  std::unique_ptr<MetricsListener> metrics_;  // after sup_: it reads the supervisor
  std::string metrics_error_;                 // why there is no listener, for `ping`
};

}  // namespace

namespace {

// The daemon after `herd update`'s exec (takeover.h): same process, same parent (the keeper,
// which holds the lock), the previous daemon's state adopted.
int run_takeover(const Home& home, const DaemonOptions& options) {
  std::optional<DaemonLog> daemon_log;
  if (!options.foreground) {
    daemon_log.emplace(home.log(), DaemonLog::options_from_env().value_or(RotatingFile::Options{}),
                       true);
    (void)daemon_log->install();
  }
  ::signal(SIGPIPE, SIG_IGN);
  auto state = read_takeover_state(options.takeover_fd);
  EventLoop loop;
  Daemon daemon(loop, home, options.metrics_port, options.foreground);
  Status started = state ? daemon.start_takeover(*state, options.takeover_fd)
                         : Status(std::unexpected(state.error()));
  if (!started) {
    log_error("update: this herd cannot take over ({})", started.error().message());
    if (state && state->contains("fallback_exe_fd")) {
      std::vector<std::string> extra = state->value("extra_args", std::vector<std::string>());
      Error e =
          exec_takeover_fd((*state)["fallback_exe_fd"].get<int>(), options.takeover_fd, extra);
      log_error("update: {}", e.message());
    }
    // The keeper kills what is left and starts a fresh daemon, which restores running.json.
    return 1;
  }
  loop.run();
  log_info("daemon stopped");
  ::unlink(home.pid_file().c_str());
  return 0;
}

}  // namespace

int run_daemon(const Home& home, const DaemonOptions& options) {
  if (options.takeover_fd >= 0) return run_takeover(home, options);
  // Whatever the process that started us left open without CLOEXEC (a shell's or a CI runner's
  // descriptors) is not ours: closed before anything of our own is opened, so no app inherits it.
  ::close_range(3, ~0U, 0);
  std::optional<std::uint16_t> metrics_port = options.metrics_port;
  const char* env = std::getenv("HERD_METRICS_PORT");
  if (!metrics_port && env != nullptr && *env != '\0') {
    auto port = parse_metrics_port(env, "HERD_METRICS_PORT");
    if (!port) {
      log_error("herd daemon: {}", port.error().context());
      return 1;
    }
    metrics_port = *port;
  }
  bool foreground = options.foreground;
  if (Status s = home.prepare(); !s) {
    log_error("herd daemon: {}", s.error().message());
    return 1;
  }
  // One daemon per home: the lock is held for the process's life and released by the kernel
  // when it dies, however it dies.
  auto lock = Fd::open(home.lock_file().c_str(), O_RDWR | O_CREAT | O_NOFOLLOW, 0600);
  if (!lock) {
    log_error("herd daemon: {}", lock.error().message());
    return 1;
  }
  // A daemon that was just told to quit (`herd kill` answers before its process is gone) lets
  // go of the lock a moment later: wait for that, not for a daemon that keeps running.
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (::flock(lock->get(), LOCK_EX | LOCK_NB) < 0) {
    if (std::chrono::steady_clock::now() > give_up) {
      log_error("herd daemon: another daemon already runs for {}", home.dir);
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // A save cut short by a crash leaves its temp files behind; nothing reads them. (Under the
  // lock: no other daemon can be saving into them now.)
  ::unlink((home.dump() + ".tmp").c_str());
  ::unlink((home.dump() + ".bak.tmp").c_str());
  // In the background, the daemon's lines (and its stdout/stderr) go to herd.log, rotated by size.
  std::optional<DaemonLog> daemon_log;
  if (!foreground) {
    auto options = DaemonLog::options_from_env();
    daemon_log.emplace(home.log(), options.value_or(RotatingFile::Options{}), true);
    // An open failure is reported on stderr and retried on later lines (daemon_log.h): the daemon
    // runs on, as it would with a full disk.
    (void)daemon_log->install();
    if (!options) {
      log_error("herd daemon: {}", options.error().context());
      return 1;
    }
  }
  // A client that hangs up mid-reply must not kill the daemon.
  ::signal(SIGPIPE, SIG_IGN);
  // The keeper (keeper.h) holds the lock for as long as it and its daemons live, so a daemon it
  // restarts after a crash never races another `herd daemon` for the home.
  return run_keeper(
      foreground ? std::string() : home.log(), home.keeper_pid_file(),
      [&](const DaemonStart& start) {
        if (Status s = write_file_atomic(home.pid_file(), std::to_string(::getpid()) + "\n", false);
            !s) {
          log_warn("herd daemon: {}", s.error().message());
        }
        EventLoop loop;
        Daemon daemon(loop, home, metrics_port, foreground);
        if (Status s = daemon.start(start.previous); !s) {
          log_error("herd daemon: {}", s.error().message());
          ::unlink(home.pid_file().c_str());
          return 1;
        }
        log_info("daemon {} started for {} (pid {})", kVersion, home.dir, ::getpid());
        if (start.ready_fd >= 0) {
          [[maybe_unused]] ssize_t n = ::write(start.ready_fd, "1", 1);
          ::close(start.ready_fd);
        }
        loop.run();
        log_info("daemon stopped");
        ::unlink(home.pid_file().c_str());
        return 0;
      });
}

Result<std::shared_ptr<void>> start_daemon_on(EventLoop& loop, const Home& home) {
  if (Status s = home.prepare(); !s) return std::unexpected(s.error());
  auto daemon = std::make_shared<Daemon>(loop, home, std::nullopt, true);
  if (Status s = daemon->start(0); !s) return std::unexpected(s.error());
  return daemon;
}

}  // namespace herd::manager
