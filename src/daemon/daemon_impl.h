// The daemon behind run_daemon (daemon.h): the Supervisor, the control server and the signals
// of one HERD_HOME. Its lifecycle (start, takeover, shutdown, metrics) is in daemon.cc; its
// answer to each verb of the control protocol (protocol/verbs.h), one handler per verb, in
// daemon_verbs.cc.
//
// Threads: the daemon's loop thread only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "daemon/control_server.h"
#include "daemon/daemon.h"
#include "daemon/home.h"
#include "daemon/home_watch.h"
#include "daemon/supervisor.h"
#include "herd/base/fd.h"
#include "herd/loop/event_loop.h"
#include "herd/loop/signal.h"
#include "herd/loop/timer.h"
#include "metrics/metrics_listener.h"
#include "protocol/requests.h"

namespace herd::manager::detail {

class Daemon {
 public:
  Daemon(EventLoop& loop, const Home& home, std::optional<MetricsEndpoint> metrics,
         bool foreground);

  // `previous`: the pid of a daemon that died before this one (keeper.h), or 0. `restore`:
  // bring back what ran when a daemon died uncleanly (false for `herd runtime`, which starts
  // what its command line says and nothing else).
  Status start(pid_t previous, bool restore = true);
  // After `herd update` (takeover.h): the state of the daemon this process was, adopted.
  Status start_takeover(const nlohmann::json& state, int state_fd);

  // --- for a daemon embedded in a command (`herd runtime`, runtime.h) ---
  // What starting a list of apps gave: the instances started, the apps refused, and warnings.
  struct StartOutcome {
    nlohmann::json processes = nlohmann::json::array();
    std::vector<ErrorReply> errors;
    nlohmann::json warnings = nlohmann::json::array();
  };
  // Starts `specs` as the `start` verb does; `done` runs once every app has answered (at once
  // for none).
  void start_specs(std::vector<AppSpec> specs, std::function<void(StartOutcome)> done);
  // Replaces what SIGTERM and SIGINT do (by default: shutdown), and handles SIGHUP alike.
  Status set_quit_handler(std::function<void(int signum)> handler);
  // Stops every app, then the control socket and every client connection (after what was
  // queued for it); the loop ends once the last reply is flushed. `then` runs once every app
  // has stopped, before the connections close (each `kill` answers there, the second one too).
  void shutdown(std::function<void()> then);
  Supervisor& supervisor() { return sup_; }
  // Whether it stopped because its home went away (HomeWatch): the caller then leaves the paths
  // of the home alone (its pid file), which may name another daemon's files by now.
  bool home_gone() const { return home_gone_; }

 private:
  // One request being answered: its id, its typed request, the connection to reply on.
  struct Call {
    nlohmann::json id;
    Request request;
    std::shared_ptr<ControlConnection> c;
    Verb verb = Verb::kPing;
  };
  using Handler = void (Daemon::*)(Call&);
  // The handler of each verb, by Verb (daemon_verbs.cc).
  static Handler handler_of(Verb verb);

  // The signals, the metrics listener and the watch of the home, after either start.
  Status start_signals_and_metrics();
  // The home was removed or replaced (HomeWatch): every app stops, and the daemon with them.
  void on_home_gone(const std::string& why);
  // Lets a team home's group control the daemon (daemon.cc).
  void share_with_team();
  void start_metrics();
  nlohmann::json ping_metrics() const;

  // Looks the verb's handler up and runs it (daemon_verbs.cc).
  void handle(ControlRequest req, std::shared_ptr<ControlConnection> c);
  // A Reply that saves what runs, then answers the call.
  Reply answer(const Call& call);

  // The handlers (daemon_verbs.cc), one per verb.
  void ping(Call& call);
  void jlist(Call& call);
  void start_apps(Call& call);
  void stop(Call& call);
  void restart(Call& call);
  void reload(Call& call);
  void remove(Call& call);
  void scale(Call& call);
  void reset(Call& call);
  void send_signal(Call& call);
  void describe(Call& call);
  void env(Call& call);
  void flush(Call& call);
  void reload_logs(Call& call);
  void save(Call& call);
  void resurrect(Call& call);
  void stream_logs(Call& call);
  void kill(Call& call);
  void apply(Call& call);
  void diagnose(Call& call);  // heapdump and profile
  // `herd update` (takeover.h): checks the binary and that every app is settled, then execs it
  // with this daemon's state; it answers the call itself. Here only when that could not happen.
  void update(Call& call);

  EventLoop& loop_;
  const Home& home_;
  std::optional<MetricsEndpoint> metrics_endpoint_;
  Supervisor sup_;
  ControlServer server_;
  Signal sigterm_;
  Signal sigint_;
  Signal sighup_;  // only with a quit handler (`herd runtime`)
  // Gives the memory a burst of requests freed back to the system, once they are over: a start
  // or list of 1,000 instances peaks at tens of MiB that malloc otherwise keeps (40 MiB resident
  // after starting 1,000 instances, 15 MiB trimmed).
  Timer trim_;
  void trim_later();
  HomeWatch home_watch_;
  std::vector<std::function<void()>> on_stopped_;  // shutdown()'s `then`s
  bool quitting_ = false;
  bool home_gone_ = false;
  int updates_ = 0;  // `herd update`s this process went through
  bool foreground_ = false;
  std::vector<std::string> extra_args_;
  std::string binary_;                        // the binary it was updated to, "" before any
  std::unique_ptr<MetricsListener> metrics_;  // after sup_: it reads the supervisor
  std::string metrics_error_;                 // why there is no listener, for `ping`
};

// The metrics listener's endpoint: --metrics-port/--metrics-addr, else HERD_METRICS_PORT and
// HERD_METRICS_ADDR; none without a port. An address without a port is an error (a sentence).
Result<std::optional<MetricsEndpoint>> metrics_endpoint_of(const DaemonOptions& options);

}  // namespace herd::manager::detail
