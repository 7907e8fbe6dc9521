#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "cluster/internal.h"
#include "cluster/primary_impl.h"
#include "herd/base/log.h"
#include "herd/cluster/cluster.h"
#include "herd/loop/io_watcher.h"
#include "herd/loop/signal.h"
#include "herd/loop/timer.h"

namespace herd::cluster {
namespace detail {

using nlohmann::json;

PrimaryImpl::~PrimaryImpl() {
  for (auto& [id, live] : workers) {
    if (live.worker->exited_) continue;
    ::kill(live.worker->pid_, SIGKILL);
    int status;
    while (::waitpid(live.worker->pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

Status PrimaryImpl::start() {
  if (started) return fail(EINVAL, "cluster: the primary was already started");
  auto r = resolve(options);
  if (!r) return std::unexpected(r.error());
  resolved = *r;
  if (options.argv.empty()) {
    auto a = own_argv();
    if (!a) return std::unexpected(a.error());
    argv = std::move(*a);
  } else {
    argv = options.argv;
  }
  auto e = own_exe();
  if (!e) return std::unexpected(e.error());
  exe = std::move(*e);
  balancer = std::make_unique<Balancer>(loop, resolved.scheduling);
  started = true;
  slots.resize(static_cast<std::size_t>(resolved.workers));
  for (auto& s : slots) s.delay_ms = static_cast<std::uint64_t>(options.restart_delay.count());
  if (options.handle_signals) watch_signals();
  for (int i = 0; i < resolved.workers; ++i) fork_worker(i);
  // A primary stuck in its loop (it balances the connections) gets the program restarted.
  watchdog = std::make_unique<http::detail::WatchdogPing>(loop);
  watchdog->start();
  return {};
}

void PrimaryImpl::watch_signals() {
  auto watch = [this](int signum, auto fn) {
    auto sig = std::make_unique<Signal>(loop);
    if (auto s = sig->start(signum, fn); !s) {
      log_error("cluster: watching signal {}: {}", signum, s.error().message());
    }
    sig->unref();
    signals.push_back(std::move(sig));
  };
  watch(SIGINT, [this](int) { on_stop_signal("SIGINT"); });
  watch(SIGTERM, [this](int) { on_stop_signal("SIGTERM"); });
  watch(SIGHUP, [this](int) {
    log_info("cluster: SIGHUP: rolling restart");
    rolling_restart([](Status s) {
      if (s) {
        log_info("cluster: rolling restart done");
      } else {
        log_warn("cluster: rolling restart: {}", s.error().message());
      }
    });
  });
}

void PrimaryImpl::on_stop_signal(const char* name) {
  if (stopping) {
    log_warn("cluster: {} while stopping; waiting for the workers", name);
    return;
  }
  log_info("cluster: {}: stopping {} worker(s)", name, workers.size());
  stop({});
}

Worker* PrimaryImpl::fork_worker(int slot) {
  auto pair = Channel::socketpair();
  int id = next_id++;
  Result<Spawned> spawned = pair ? spawn(exe, argv, worker_env(id), pair->second)
                                 : Result<Spawned>(std::unexpected(pair.error()));
  if (!spawned) {
    log_error("cluster: starting worker {}: {}", id, spawned.error().message());
    schedule_restart(slot, 0);
    return nullptr;
  }
  pair->second.reset();
  Live live;
  live.worker.reset(new Worker(this));
  Worker& w = *live.worker;
  w.id_ = id;
  w.slot_ = slot;
  w.pid_ = spawned->pid;
  w.started_ms_ = loop.now();
  live.pidfd = std::move(spawned->pidfd);
  live.channel = std::make_unique<Channel>(loop, std::move(pair->first));
  live.channel->unref();  // the worker's process (its exit watcher) keeps the loop alive
  live.channel->on_message([this, id](ChannelMessage m) { on_message(id, std::move(m)); });
  live.channel->on_request(
      [this, id](ChannelMessage m, Responder r) { on_request(id, std::move(m), std::move(r)); });
  live.channel->on_end([this, id](Status why) { on_channel_end(id, why); });
  live.channel->on_drain([this, id] { balancer->drained(id); });
  if (auto s = live.channel->start(); !s)
    log_error("cluster: worker {}: {}", id, s.error().message());
  live.exit_watch = std::make_unique<IoWatcher>(loop, live.pidfd.get());
  live.exit_watch->set_callback([this, id](std::uint32_t) { on_exit(id); });
  if (auto s = live.exit_watch->start(kReadable); !s) {
    log_error("cluster: watching worker {}: {}", id, s.error().message());
  }
  live.kill_timer = std::make_unique<Timer>(loop);
  live.kill_timer->unref();
  workers.emplace(id, std::move(live));
  slots[static_cast<std::size_t>(slot)].current = id;
  log_debug("cluster: worker {} (slot {}) started, pid {}", id, slot, w.pid_);
  if (fork_cb) fork_cb(w);
  return &w;
}

std::vector<std::string> PrimaryImpl::worker_env(int id) const {
  std::vector<std::string> env = options.env;
  env.push_back(fmt::format("{}={}", kWorkerIdEnv, id));
  env.push_back(fmt::format("{}={}", kChannelFdEnv, kChannelFd));
  env.push_back(fmt::format("{}={}", kSchedEnv, to_string(resolved.scheduling)));
  return env;
}

PrimaryImpl::Live* PrimaryImpl::find(int id) {
  auto it = workers.find(id);
  return it == workers.end() ? nullptr : &it->second;
}

void PrimaryImpl::on_message(int id, ChannelMessage m) {
  Live* live = find(id);
  if (live == nullptr || !m.body.is_object()) return;
  Worker& w = *live->worker;
  if (auto u = m.body.find("u"); u != m.body.end()) {
    if (message_cb) message_cb(w, ChannelMessage{std::move(*u), std::move(m.fds)});
    return;
  }
  std::string kind = m.body.value("k", "");
  int group = m.body.value("g", -1);
  if (kind == "ack") {
    balancer->ack(id, group, m.body.value("n", 0));
  } else if (kind == "return") {
    if (!m.fds.empty()) balancer->give_back(group, std::move(m.fds.front()));
  } else if (kind == "online") {
    w.online_ = true;
    if (online_cb) online_cb(w);
    check_rolling(w);
  } else if (kind == "listening") {
    auto address = Address::parse(m.body.value("address", ""));
    if (!address) return;
    w.listening_.push_back(*address);
    if (listening_cb) listening_cb(w, *address);
    check_rolling(w);
  } else if (kind == "disconnecting") {
    begin_disconnect(*live, false);
  }
}

void PrimaryImpl::on_request(int id, ChannelMessage m, Responder reply) {
  Live* live = find(id);
  if (live == nullptr || !m.body.is_object()) return;
  Worker& w = *live->worker;
  if (auto u = m.body.find("u"); u != m.body.end()) {
    if (request_cb) {
      request_cb(w, ChannelMessage{std::move(*u), std::move(m.fds)}, std::move(reply));
    } else {
      reply.fail("the primary has no request handler");
    }
    return;
  }
  if (m.body.value("k", "") != "listen") {
    reply.fail("unknown request");
    return;
  }
  auto address = Address::parse(m.body.value("address", ""));
  if (!address) {
    reply.fail(address.error().message());
    return;
  }
  if (stopping || w.disconnecting_) {
    reply.fail("listen " + address->to_string() + ": the worker is disconnecting");
    return;
  }
  auto grant = balancer->listen(id, w.slot_, live->channel.get(), *address);
  if (!grant) {
    reply.fail(grant.error());
    return;
  }
  std::vector<Fd> fds;
  if (grant->socket) fds.push_back(std::move(*grant->socket));
  reply.reply({{"g", grant->group},
               {"address", grant->address.to_string()},
               {"mode", to_string(grant->mode)}},
              std::move(fds));
}

void PrimaryImpl::on_channel_end(int id, const Status& why) {
  Live* live = find(id);
  if (live == nullptr) return;
  if (!why) log_debug("cluster: worker {} channel: {}", id, why.error().message());
  balancer->remove(id);
  // Closed at once: the worker is gone or leaving, and its channel with it.
  if (!live->channel->is_closing()) live->channel->close();
  fire_disconnect(*live);
}

void PrimaryImpl::fire_disconnect(Live& live) {
  if (live.disconnect_fired) return;
  live.disconnect_fired = true;
  if (disconnect_cb) disconnect_cb(*live.worker);
}

void PrimaryImpl::on_exit(int id) {
  Live* live = find(id);
  if (live == nullptr) return;
  Worker& w = *live->worker;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(w.pid_, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == 0) return;  // not yet (a spurious wake-up)
  live->exit_watch->stop();
  live->kill_timer->stop();
  w.exited_ = true;
  balancer->remove(id);
  if (!live->channel->is_closing()) live->channel->close();
  fire_disconnect(*live);
  ExitInfo info;
  if (r > 0 && WIFEXITED(status)) info.code = WEXITSTATUS(status);
  if (r > 0 && WIFSIGNALED(status)) info.signal = WTERMSIG(status);
  info.on_purpose = w.on_purpose_ || stopping;
  std::uint64_t lived = loop.now() - w.started_ms_;
  int slot = w.slot_;
  log_debug("cluster: worker {} (pid {}) exited: code {} signal {}{}", id, w.pid_, info.code,
            info.signal, info.on_purpose ? " (on purpose)" : "");
  if (exit_cb) exit_cb(w, info);
  on_rolling_exit(id);
  Slot& s = slots[static_cast<std::size_t>(slot)];
  if (s.current == id) {
    s.current = 0;
    if (!info.on_purpose) {
      log_warn("cluster: worker {} (pid {}) died ({}); replacing it", id, w.pid_,
               info.signal != 0 ? fmt::format("signal {}", info.signal)
                                : fmt::format("exit code {}", info.code));
      schedule_restart(slot, lived);
    }
  }
  // The watcher and channel are handles whose callback may be running: freed after it.
  loop.set_immediate([this, id] {
    workers.erase(id);
    maybe_stopped();
  });
}

void PrimaryImpl::schedule_restart(int slot, std::uint64_t lived_ms) {
  if (stopping) return;
  Slot& s = slots[static_cast<std::size_t>(slot)];
  if (lived_ms >= static_cast<std::uint64_t>(options.stable_after.count())) {
    s.delay_ms = static_cast<std::uint64_t>(options.restart_delay.count());
  }
  std::uint64_t delay = s.delay_ms;
  double next = std::ceil(static_cast<double>(s.delay_ms) * options.restart_factor);
  s.delay_ms = std::min(static_cast<std::uint64_t>(next),
                        static_cast<std::uint64_t>(options.max_restart_delay.count()));
  if (!s.restart) s.restart = std::make_unique<Timer>(loop);
  log_info("cluster: restarting slot {} in {} ms", slot, delay);
  s.restart->start(
      [this, slot] {
        if (!stopping && slots[static_cast<std::size_t>(slot)].current == 0) fork_worker(slot);
      },
      delay);
}

void PrimaryImpl::begin_disconnect(Live& live, bool tell_worker) {
  Worker& w = *live.worker;
  if (w.disconnecting_ || w.exited_) return;
  w.disconnecting_ = true;
  w.on_purpose_ = true;
  balancer->remove(w.id_);
  if (tell_worker && live.channel->is_open()) {
    if (auto s = live.channel->send({{"k", "disconnect"}}); !s) {
      log_debug("cluster: worker {}: {}", w.id_, s.error().message());
    }
  }
  pid_t pid = w.pid_;
  int id = w.id_;
  live.kill_timer->start(
      [this, pid, id] {
        Live* l = find(id);
        if (l == nullptr || l->worker->exited_) return;
        log_warn("cluster: worker {} (pid {}) did not exit within {} ms; SIGKILL", id, pid,
                 options.kill_timeout.count());
        ::kill(pid, SIGKILL);
      },
      static_cast<std::uint64_t>(options.kill_timeout.count()));
}

void PrimaryImpl::stop(std::function<void()> done) {
  if (done) stop_done.push_back(std::move(done));
  if (stopping) {
    maybe_stopped();
    return;
  }
  stopping = true;
  for (auto& s : slots) {
    if (s.restart) s.restart->stop();
  }
  if (rolling) finish_rolling(fail(ECANCELED, "rolling restart: the cluster is stopping"));
  if (balancer) balancer->close();
  for (auto& [id, live] : workers) begin_disconnect(live, true);
  maybe_stopped();
}

void PrimaryImpl::maybe_stopped() {
  if (!stopping || !workers.empty() || stop_done.empty()) return;
  for (auto& sig : signals) sig->stop();
  auto done = std::move(stop_done);
  stop_done.clear();
  loop.set_immediate([done = std::move(done)] {
    for (const auto& cb : done) cb();
  });
}

}  // namespace detail

// --- Worker ------------------------------------------------------------------------------------

bool Worker::is_connected() const {
  auto* live = primary_->find(id_);
  return live != nullptr && live->channel->is_open();
}

Status Worker::send(nlohmann::json body, std::vector<Fd> fds) {
  auto* live = primary_->find(id_);
  if (live == nullptr) return fail(EPIPE, fmt::format("worker {}: gone", id_));
  return live->channel->send({{"u", std::move(body)}}, std::move(fds));
}

Status Worker::request(nlohmann::json body, Channel::ReplyCallback cb, std::vector<Fd> fds) {
  auto* live = primary_->find(id_);
  if (live == nullptr) return fail(EPIPE, fmt::format("worker {}: gone", id_));
  return live->channel->request({{"u", std::move(body)}}, std::move(cb), std::move(fds));
}

void Worker::disconnect() {
  if (auto* live = primary_->find(id_)) primary_->begin_disconnect(*live, true);
}

void Worker::kill(int signum) {
  if (exited_) return;
  on_purpose_ = true;
  primary_->balancer->remove(id_);
  ::kill(pid_, signum);
}

// --- Primary -----------------------------------------------------------------------------------

Primary::Primary(EventLoop& loop, Options options)
    : impl_(std::make_unique<detail::PrimaryImpl>(loop, std::move(options))) {}
Primary::~Primary() = default;

Status Primary::start() { return impl_->start(); }
void Primary::on_fork(WorkerCallback cb) { impl_->fork_cb = std::move(cb); }
void Primary::on_online(WorkerCallback cb) { impl_->online_cb = std::move(cb); }
void Primary::on_listening(std::function<void(Worker&, const Address&)> cb) {
  impl_->listening_cb = std::move(cb);
}
void Primary::on_message(std::function<void(Worker&, ChannelMessage)> cb) {
  impl_->message_cb = std::move(cb);
}
void Primary::on_request(std::function<void(Worker&, ChannelMessage, Responder)> cb) {
  impl_->request_cb = std::move(cb);
}
void Primary::on_disconnect(WorkerCallback cb) { impl_->disconnect_cb = std::move(cb); }
void Primary::on_exit(std::function<void(Worker&, const ExitInfo&)> cb) {
  impl_->exit_cb = std::move(cb);
}

std::vector<Worker*> Primary::workers() const {
  std::vector<Worker*> out;
  for (auto& [id, live] : impl_->workers) {
    if (!live.worker->has_exited()) out.push_back(live.worker.get());
  }
  return out;
}

Worker* Primary::worker(int id) const {
  auto* live = impl_->find(id);
  return live == nullptr || live->worker->has_exited() ? nullptr : live->worker.get();
}

std::size_t Primary::broadcast(const nlohmann::json& body) {
  std::size_t n = 0;
  for (auto& [id, live] : impl_->workers) {
    if (live.channel->is_open() && live.channel->send({{"u", body}})) ++n;
  }
  return n;
}

void Primary::rolling_restart(std::function<void(Status)> done) {
  impl_->rolling_restart(std::move(done));
}
void Primary::stop(std::function<void()> done) { impl_->stop(std::move(done)); }
Scheduling Primary::scheduling() const { return impl_->resolved.scheduling; }
int Primary::size() const { return static_cast<int>(impl_->slots.size()); }
bool Primary::is_stopping() const { return impl_->stopping; }

}  // namespace herd::cluster
