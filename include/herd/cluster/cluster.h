// cluster: one program, many processes sharing its ports (Node's `cluster` module, natively).
//
// The same binary runs as the primary or as a worker: cluster::is_worker() tells which. The
// primary (cluster::Primary) starts N workers by running this program again (its own
// /proc/self/cmdline) with an IPC channel (herd::Channel) at descriptor 3; each worker
// (cluster::WorkerProcess, herd/cluster_worker.h) asks the primary for the addresses it serves.
// The primary owns every listening socket, so a worker that dies or restarts never takes a port
// with it. How connections reach workers (Scheduling):
//   kRoundRobin  the primary accepts and passes each connection to the next worker over the
//                channel (SCM_RIGHTS). Each worker has a credit of unacknowledged connections,
//                so a busy or dying worker is skipped; when every worker is out of credit the
//                connections wait in the primary (a FIFO; accepting pauses when it is full).
//   kShared      every worker accepts from one socket, watched with EPOLLEXCLUSIVE, one
//                connection per wake-up.
//   kReusePort   one SO_REUSEPORT socket per worker slot; the kernel spreads connections by
//                hash. The primary keeps each slot's socket open across that slot's restarts, so
//                the connections queued on it wait for the replacement instead of being reset.
//                A Unix socket address is served as kShared (SO_REUSEPORT is for TCP).
// Default: kDefaultScheduling (the reason, measured, is in docs/cluster.md);
// HERD_CLUSTER_SCHED=rr|shared|reuseport or Options::scheduling override it.
//
// Healing: a worker that exits without being asked to is replaced after a delay that starts at
// restart_delay and grows by restart_factor up to max_restart_delay, per slot; it returns to
// restart_delay once a worker of the slot has run stable_after. Workers stopped on purpose
// (Worker::kill, Worker::disconnect, a worker that disconnected itself, stop()) are not.
// Signals (Options::handle_signals): SIGINT/SIGTERM stop the cluster gracefully (every worker
// stops accepting, finishes its requests and exits; SIGKILL after kill_timeout); SIGHUP is a
// rolling restart (a new worker per slot, listening before the old one is disconnected).
// Watchdog: when the primary is the watched process (sd_watchdog_enabled(): herd's `watchdog`,
// systemd's WatchdogSec), start() makes it send WATCHDOG=1 from its loop every half interval.
//
// Threads: every method must be called on the loop's thread.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "herd/base/error.h"
#include "herd/cluster/channel.h"
#include "herd/loop/event_loop.h"
#include "herd/net/address.h"

namespace herd::cluster {

enum class Scheduling { kRoundRobin, kShared, kReusePort };

inline constexpr Scheduling kDefaultScheduling = Scheduling::kReusePort;

// "rr", "shared", "reuseport".
std::string_view to_string(Scheduling scheduling);
// The inverse of to_string; EINVAL naming the text and the accepted values otherwise.
Result<Scheduling> parse_scheduling(std::string_view text);

// True in a process the primary started as a worker (HERD_CLUSTER_WORKER_ID is set).
bool is_worker();
inline bool is_primary() { return !is_worker(); }

struct Options {
  // 0: $HERD_WORKERS if set, else the number of CPUs this process may use: its affinity mask,
  // bounded by its cgroup's CPU quota (a container limited to 2 CPUs gets 2 workers, not one
  // per host core).
  int workers = 0;
  // Unset: $HERD_CLUSTER_SCHED if set, else kDefaultScheduling.
  std::optional<Scheduling> scheduling;
  // A worker asked to disconnect is SIGKILLed if it has not exited after this long.
  std::chrono::milliseconds kill_timeout{10'000};
  // A rolling restart gives up when a new worker is not listening after this long.
  std::chrono::milliseconds listen_timeout{30'000};
  std::chrono::milliseconds restart_delay{100};
  double restart_factor = 1.5;
  std::chrono::milliseconds max_restart_delay{15'000};
  std::chrono::milliseconds stable_after{30'000};
  // SIGINT/SIGTERM: stop(); SIGHUP: rolling_restart(). The signal handles do not keep the loop
  // alive.
  bool handle_signals = true;
  // The worker's command line; empty: this program's own (from /proc/self/cmdline).
  std::vector<std::string> argv;
  // Added to the workers' environment ("NAME=value").
  std::vector<std::string> env;
};

// How a worker ended.
struct ExitInfo {
  int code = -1;            // the exit code, or -1 when killed by a signal
  int signal = 0;           // the signal that killed it, or 0
  bool on_purpose = false;  // it was stopped on purpose (not restarted)
};

class Primary;
namespace detail {
struct PrimaryImpl;
}

// The primary's handle on one worker. Owned by the Primary; valid until the exit event's
// callback returns.
class Worker {
 public:
  int id() const { return id_; }      // 1, 2, 3... never reused by this primary
  int slot() const { return slot_; }  // 0..workers-1; a replacement takes its slot
  pid_t pid() const { return pid_; }
  bool is_online() const { return online_; }
  bool is_connected() const;
  // The addresses it listens on (as the primary granted them).
  const std::vector<Address>& listening() const { return listening_; }
  bool is_disconnecting() const { return disconnecting_; }
  bool has_exited() const { return exited_; }

  // A message for the worker's message callback. EPIPE once the channel is over.
  Status send(nlohmann::json body, std::vector<Fd> fds = {});
  // A request for the worker's request callback; `cb` gets the answer.
  Status request(nlohmann::json body, Channel::ReplyCallback cb, std::vector<Fd> fds = {});
  // Graceful stop, on purpose (no restart): the worker stops getting connections, closes its
  // servers once their requests are answered, and exits; SIGKILL after Options::kill_timeout.
  void disconnect();
  // Sends `signum` now, on purpose (no restart).
  void kill(int signum = SIGTERM);

 private:
  friend struct detail::PrimaryImpl;
  explicit Worker(detail::PrimaryImpl* primary) : primary_(primary) {}

  detail::PrimaryImpl* primary_;
  int id_ = 0;
  int slot_ = 0;
  pid_t pid_ = -1;
  bool online_ = false;
  bool disconnecting_ = false;
  bool on_purpose_ = false;
  bool exited_ = false;
  std::uint64_t started_ms_ = 0;
  std::vector<Address> listening_;
};

class Primary {
 public:
  using WorkerCallback = std::function<void(Worker& worker)>;

  Primary(EventLoop& loop, Options options = {});
  // Kills (SIGKILL) and reaps the workers still running: destroy it after stop() completed for a
  // graceful end.
  ~Primary();
  Primary(const Primary&) = delete;
  Primary& operator=(const Primary&) = delete;

  // Resolves the options (EINVAL with a message for a bad HERD_WORKERS or HERD_CLUSTER_SCHED)
  // and starts the workers. A worker that fails to start is healed like one that died.
  Status start();

  // Events, as in Node's cluster module.
  void on_fork(WorkerCallback cb);
  void on_online(WorkerCallback cb);
  void on_listening(std::function<void(Worker& worker, const Address& address)> cb);
  void on_message(std::function<void(Worker& worker, ChannelMessage message)> cb);
  void on_request(std::function<void(Worker& worker, ChannelMessage request, Responder reply)> cb);
  void on_disconnect(WorkerCallback cb);
  void on_exit(std::function<void(Worker& worker, const ExitInfo& info)> cb);

  // Live workers, by id.
  std::vector<Worker*> workers() const;
  Worker* worker(int id) const;
  // Sends `body` to every connected worker; the number it was queued for.
  std::size_t broadcast(const nlohmann::json& body);

  // Replaces every worker, one slot at a time: starts the new worker, waits until it listens on
  // as many addresses as the old one (or is online, for a worker that serves none), then
  // disconnects the old one and waits for its exit. `done` gets the outcome (EBUSY if a rolling
  // restart or stop is under way; ETIMEDOUT or ECHILD when a new worker did not come up).
  void rolling_restart(std::function<void(Status)> done = {});
  // Graceful stop of the whole cluster; `done` runs once every worker has exited.
  void stop(std::function<void()> done = {});

  Scheduling scheduling() const;
  int size() const;  // the number of slots
  bool is_stopping() const;

 private:
  std::unique_ptr<detail::PrimaryImpl> impl_;
};

}  // namespace herd::cluster
