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
#include <utility>

#include "daemon/daemon_impl.h"
#include "daemon/descriptor_limit.h"
#include "daemon/home_lock.h"
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
#include "protocol/version.h"

namespace herd::manager {
namespace detail {

using nlohmann::json;

Daemon::Daemon(EventLoop& loop, const Home& home, std::optional<MetricsEndpoint> metrics,
               bool foreground)
    : loop_(loop),
      home_(home),
      metrics_endpoint_(std::move(metrics)),
      sup_(loop, home),
      server_(loop,
              [this](ControlRequest r, std::shared_ptr<ControlConnection> c) {
                handle(std::move(r), std::move(c));
              }),
      sigterm_(loop),
      sigint_(loop),
      sighup_(loop),
      trim_(loop),
      home_watch_(loop, home) {
  foreground_ = foreground;
  trim_.unref();  // housekeeping: never what keeps the loop running
}

// A team home (Home::team_group) lets its group's members control a daemon that does not run as
// root. A root daemon's apps run as root: nobody but root controls it, whatever the home's mode.
void Daemon::share_with_team() {
  auto gid = home_.team_group();
  if (!gid) return;
  if (::geteuid() == 0) {
    log_warn(
        "daemon: {} is shared with group {}, but a daemon run by root is controlled by root "
        "only",
        home_.dir, *gid);
    return;
  }
  server_.allow_group(*gid);
  log_info("daemon: the members of group {} may control it (team home {})", *gid, home_.dir);
}

Status Daemon::start(pid_t previous, bool restore) {
  share_with_team();
  if (Status s = sup_.init(); !s) return s;
  if (Status s = server_.listen(home_.socket()); !s) return s;
  sup_.reclaim_cgroups();  // not after `herd update`: those groups hold the kept processes
  // What ran when a daemon died uncleanly comes back before the first request is answered
  // (each app as it settles), and the first CLI command says so.
  if (restore) {
    server_.set_notice(sup_.restore_running(previous));
  } else {
    sup_.forget_running();
  }
  return start_signals_and_metrics();
}

Status Daemon::set_quit_handler(std::function<void(int signum)> handler) {
  auto cb = [handler = std::move(handler)](int signum) { handler(signum); };
  if (Status s = sigterm_.start(SIGTERM, cb); !s) return s;
  if (Status s = sigint_.start(SIGINT, cb); !s) return s;
  if (Status s = sighup_.start(SIGHUP, cb); !s) return s;
  sigterm_.unref();
  sigint_.unref();
  sighup_.unref();
  return {};
}

Status Daemon::start_takeover(const json& state, int state_fd) {
  share_with_team();
  if (Status s = sup_.init(); !s) return s;
  if (Status s = server_.adopt(Fd(state.at("control_fd").get<int>()), home_.socket()); !s) {
    return s;
  }
  if (Status s = sup_.adopt_state(state.at("supervisor")); !s) return s;
  updates_ = state.value("updates", 0) + 1;
  binary_ = state.value("binary", "");
  std::string from = state.value("from_version", "?");
  log_info("daemon: updated from herd {} to {} ({}), {} app process(es) kept", from, kHerdVersion,
           binary_, sup_.process_count());
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
    c->reply_ok(state.at("request_id"), {{"version", kHerdVersion},
                                         {"from_version", from},
                                         {"pid", ::getpid()},
                                         {"binary", binary_},
                                         {"processes", sup_.jlist()}});
  }
  sup_.persist_running();
  return start_signals_and_metrics();
}

Status Daemon::start_signals_and_metrics() {
  auto quit = [this](int signum) {
    log_info("daemon: {} received, stopping every app", signum == SIGTERM ? "SIGTERM" : "SIGINT");
    shutdown(nullptr);
  };
  if (Status s = sigterm_.start(SIGTERM, quit); !s) return s;
  if (Status s = sigint_.start(SIGINT, quit); !s) return s;
  sigterm_.unref();
  sigint_.unref();
  start_metrics();
  return home_watch_.start([this](const std::string& why) { on_home_gone(why); });
}

// Nobody can reach a daemon whose home is gone (its control socket went with it), and its lock
// no longer keeps a second daemon out: it stops its apps as `herd kill` would and ends, and the
// keeper, seeing a clean exit, ends too. The reason is logged: on stderr for a foreground daemon
// (its terminal or journal); in the background, in the herd.log the daemon still holds open.
void Daemon::on_home_gone(const std::string& why) {
  if (quitting_) return;
  home_gone_ = true;
  log_error(
      "daemon: {}; stopping every app and exiting (a daemon without its home cannot be "
      "reached)",
      why);
  shutdown(nullptr);
}

// The /metrics, /healthz and /readyz listener, when asked for. Failing to bind is not fatal:
// the apps matter more than their metrics, and `herd ping` says what went wrong.
void Daemon::start_metrics() {
  if (!metrics_endpoint_) return;
  metrics_ = std::make_unique<MetricsListener>(
      loop_,
      [this] {
        auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::system_clock::now().time_since_epoch());
        return prometheus_text(sup_.jlist(Instance::Detail::kBrief), now.count());
      },
      [this] { return sup_.not_ready(); });
  if (Status s = metrics_->listen(*metrics_endpoint_); !s) {
    metrics_error_ = s.error().message();
    metrics_.reset();
    log_error("daemon: no metrics listener: {}", metrics_error_);
    return;
  }
  log_info("daemon: metrics on http://{}/metrics", metrics_->address());
}

json Daemon::ping_metrics() const {
  if (metrics_) return {{"address", metrics_->address()}};
  if (!metrics_error_.empty()) return {{"error", metrics_error_}};
  return nullptr;
}

void Daemon::shutdown(std::function<void()> then) {
  if (then) on_stopped_.push_back(std::move(then));
  if (quitting_) return;  // a second `kill` is answered with the first
  quitting_ = true;
  if (metrics_) metrics_->close();
  sup_.close_listeners();
  home_watch_.stop();
  sup_.stop_all([this] {
    // A clean stop: nothing is to come back by itself. (A home that went away has no running
    // set to remove, or one that is not ours any more.)
    if (!home_gone_) sup_.forget_running();
    // The listener closes before the answer goes out: a command sent once `kill` has answered
    // finds no socket and starts a new daemon, instead of a connection this one would drop.
    server_.stop_accepting();
    for (auto& f : std::exchange(on_stopped_, {})) f();
    // Then every client goes, once what was queued for it is sent: a `herd logs` that follows,
    // a connection that never sent a line. Otherwise one of them would keep the stopped daemon,
    // and the home's lock, alive for as long as it stays connected.
    server_.close_connections();
    sigterm_.stop();
    sigint_.stop();
    sighup_.stop();
    // With the listener closed, every app stopped and every connection closing, the loop ends
    // once the last reply is flushed.
  });
}

// The metrics listener's port: --metrics-port, else HERD_METRICS_PORT, else none; its address:
// --metrics-addr, else HERD_METRICS_ADDR, else 127.0.0.1. An address without a port is refused
// rather than ignored: whoever set it expects a listener.
Result<std::optional<MetricsEndpoint>> metrics_endpoint_of(const DaemonOptions& options) {
  auto env = [](const char* name) {
    const char* v = std::getenv(name);
    return v == nullptr ? std::string() : std::string(v);
  };
  std::optional<std::string> host = options.metrics_addr;
  if (std::string e = env("HERD_METRICS_ADDR"); !host && !e.empty()) {
    auto parsed = parse_metrics_addr(e, "HERD_METRICS_ADDR");
    if (!parsed) return std::unexpected(parsed.error());
    host = *parsed;
  }
  std::optional<std::uint16_t> port = options.metrics_port;
  if (std::string e = env("HERD_METRICS_PORT"); !port && !e.empty()) {
    auto parsed = parse_metrics_port(e, "HERD_METRICS_PORT");
    if (!parsed) return std::unexpected(parsed.error());
    port = *parsed;
  }
  if (!port) {
    if (!host) return std::optional<MetricsEndpoint>();
    return fail(EINVAL, fmt::format("the metrics address {} needs a port: --metrics-port or "
                                    "HERD_METRICS_PORT",
                                    *host));
  }
  MetricsEndpoint endpoint;
  endpoint.port = *port;
  if (host) endpoint.host = *host;
  return std::optional<MetricsEndpoint>(endpoint);
}

}  // namespace detail

namespace {

using detail::Daemon;
using detail::metrics_endpoint_of;

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
  // What the previous daemon served, as it passed it on (daemon_verbs.cc); not the environment.
  std::optional<MetricsEndpoint> metrics;
  if (options.metrics_port) {
    metrics = MetricsEndpoint{options.metrics_addr.value_or("127.0.0.1"), *options.metrics_port};
  }
  Daemon daemon(loop, home, metrics, options.foreground);
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
  if (!daemon.home_gone()) ::unlink(home.pid_file().c_str());
  return 0;
}

// One daemon's life under the keeper: its pid file, its loop, until it stops.
int serve(const Home& home, const std::optional<MetricsEndpoint>& metrics, bool foreground,
          const DaemonStart& start) {
  if (Status s = write_file_atomic(home.pid_file(), std::to_string(::getpid()) + "\n", false); !s) {
    log_warn("herd daemon: {}", s.error().message());
  }
  EventLoop loop;
  Daemon daemon(loop, home, metrics, foreground);
  if (Status s = daemon.start(start.previous); !s) {
    log_error("herd daemon: {}", s.error().message());
    ::unlink(home.pid_file().c_str());
    return 1;
  }
  log_info("daemon {} started for {} (pid {})", kHerdVersion, home.dir, ::getpid());
  if (start.ready_fd >= 0) {
    [[maybe_unused]] ssize_t n = ::write(start.ready_fd, "1", 1);
    ::close(start.ready_fd);
  }
  loop.run();
  log_info("daemon stopped");
  if (!daemon.home_gone()) ::unlink(home.pid_file().c_str());
  return 0;
}

}  // namespace

int run_daemon(const Home& home, const DaemonOptions& options) {
  raise_descriptor_limit();  // a few descriptors per instance: 1,024 would not hold 1,000
  if (options.takeover_fd >= 0) return run_takeover(home, options);
  // Whatever the process that started us left open without CLOEXEC (a shell's or a CI runner's
  // descriptors) is not ours: closed before anything of our own is opened, so no app inherits it.
  ::close_range(3, ~0U, 0);
  auto metrics = metrics_endpoint_of(options);
  if (!metrics) {
    log_error("herd daemon: {}", metrics.error().context());
    return 1;
  }
  bool foreground = options.foreground;
  if (Status s = home.prepare(); !s) {
    log_error("herd daemon: {}", s.error().message());
    return 1;
  }
  auto lock = lock_home(home);
  if (!lock) {
    log_error("herd daemon: {}", lock.error());
    return 1;
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
  auto id = HomeIdentity::of(home);
  if (!id) {
    log_error("herd daemon: {}", id.error().message());
    return 1;
  }
  return run_keeper(
      foreground ? std::string() : home.log(), home.keeper_pid_file(),
      [&] { return id->change(home); },
      [&](const DaemonStart& start) { return serve(home, *metrics, foreground, start); });
}

Result<std::shared_ptr<void>> start_daemon_on(EventLoop& loop, const Home& home) {
  if (Status s = home.prepare(); !s) return std::unexpected(s.error());
  auto daemon = std::make_shared<Daemon>(loop, home, std::nullopt, true);
  if (Status s = daemon->start(0); !s) return std::unexpected(s.error());
  return daemon;
}

}  // namespace herd::manager
