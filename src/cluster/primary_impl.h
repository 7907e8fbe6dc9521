// detail::PrimaryImpl: the state behind cluster::Primary (its workers, slots, signals, a rolling
// restart in progress) and the steps that change it. Defined in primary.cc (life cycle, messages,
// exits, stop) and primary_rolling.cc (rolling restart). Threads: the primary's loop thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cluster/internal.h"
#include "herd/cluster/channel.h"
#include "herd/cluster/cluster.h"
#include "herd/loop/io_watcher.h"
#include "herd/loop/signal.h"
#include "herd/loop/timer.h"
#include "http/watchdog_ping.h"

namespace herd::cluster::detail {

struct PrimaryImpl {
  // What the primary runs for one worker besides its public handle.
  struct Live {
    std::unique_ptr<Worker> worker;
    std::unique_ptr<Channel> channel;
    Fd pidfd;
    std::unique_ptr<IoWatcher> exit_watch;
    std::unique_ptr<Timer> kill_timer;
    bool disconnect_fired = false;
  };
  struct Slot {
    int current = 0;  // the id of the slot's newest worker, 0 for none
    std::uint64_t delay_ms = 0;
    std::unique_ptr<Timer> restart;
  };
  struct Rolling {
    std::vector<int> old_ids;
    std::size_t index = 0;
    int old_id = 0;
    int new_id = 0;
    std::size_t need = 0;  // addresses the new worker must listen on
    bool waiting_exit = false;
    std::unique_ptr<Timer> timer;
    std::vector<std::function<void(Status)>> done;
  };

  PrimaryImpl(EventLoop& l, Options o) : loop(l), options(std::move(o)) {}

  ~PrimaryImpl();

  // --- lifecycle -------------------------------------------------------------------------------

  Status start();

  void watch_signals();

  void on_stop_signal(const char* name);

  Worker* fork_worker(int slot);

  std::vector<std::string> worker_env(int id) const;

  Live* find(int id);

  // --- messages from workers ---------------------------------------------------------------

  void on_message(int id, ChannelMessage m);

  void on_request(int id, ChannelMessage m, Responder reply);

  void on_channel_end(int id, const Status& why);

  void fire_disconnect(Live& live);

  void on_exit(int id);

  // --- healing -------------------------------------------------------------------------------

  void schedule_restart(int slot, std::uint64_t lived_ms);

  // --- disconnect, stop ----------------------------------------------------------------------

  void begin_disconnect(Live& live, bool tell_worker);

  void stop(std::function<void()> done);

  void maybe_stopped();

  // --- rolling restart -----------------------------------------------------------------------

  void rolling_restart(std::function<void(Status)> done);

  void rolling_step();

  void restore_slot(Rolling& r);

  void check_rolling(Worker& w);

  void on_rolling_exit(int id);

  void finish_rolling(Status s);

  EventLoop& loop;
  Options options;
  Resolved resolved;
  std::vector<std::string> argv;
  std::string exe;
  std::unique_ptr<Balancer> balancer;
  std::map<int, Live> workers;
  std::vector<Slot> slots;
  std::vector<std::unique_ptr<Signal>> signals;
  std::unique_ptr<Rolling> rolling;
  // WATCHDOG=1 from the primary's loop when it is the watched process (its workers are not).
  std::unique_ptr<http::detail::WatchdogPing> watchdog;
  std::vector<std::function<void()>> stop_done;
  int next_id = 1;
  bool started = false;
  bool stopping = false;

  Primary::WorkerCallback fork_cb, online_cb, disconnect_cb;
  std::function<void(Worker&, const Address&)> listening_cb;
  std::function<void(Worker&, ChannelMessage)> message_cb;
  std::function<void(Worker&, ChannelMessage, Responder)> request_cb;
  std::function<void(Worker&, const ExitInfo&)> exit_cb;
};

}  // namespace herd::cluster::detail
