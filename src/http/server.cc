#include "herd/http/server.h"

#include <memory>
#include <utility>
#include <vector>

#include "herd/base/log.h"
#include "herd/net/listener.h"
#include "herd/net/socket_activation.h"
#include "http/connection.h"
#include "http/metrics.h"
#include "http/server_shared.h"
#include "http/watchdog_ping.h"

namespace herd::http {

struct Server::Impl {
  Impl(EventLoop& loop, Handler handler, ServerOptions options)
      : shared(loop, std::move(handler), std::move(options)),
        lag_probe(loop, &shared.metrics.loop_lag_seconds),
        watchdog(loop) {
    shared.release = [this](detail::Connection* c) { release(c); };
    shared.metrics_text = [this] { return detail::format_metrics(shared.metrics); };
    lag_probe.start();
  }

  ~Impl() {
    // Connections still open are dropped with their pending callbacks (Stream's destructor),
    // and their exchanges are detached: Responses kept by handlers turn disconnected.
    while (!connections.empty()) {
      auto* c = static_cast<detail::Connection*>(connections.front()->owner);
      c->node_.unlink();
      delete c;
    }
  }

  void on_connection(Fd fd) {
    const std::size_t max = shared.options.max_connections;
    bool admitted = max == 0 || shared.metrics.active_connections < max;
    auto* c = new detail::Connection(shared, std::move(fd), admitted);
    connections.push_back(&c->node_);
    c->start();
    // Accepted while closing (the queue taken before the listeners close, or the same batch as
    // close()): served like a connection in flight, its answer the last one.
    if (closing) c->begin_drain();
  }

  void release(detail::Connection* c) {
    c->node_.unlink();
    delete c;
    maybe_done();
  }

  void maybe_done() {
    if (!closing || listeners_closing > 0 || !connections.empty() || done_callbacks.empty()) {
      return;
    }
    // Run from the check phase, never from inside close() or a connection's close callback:
    // the callback may well destroy the server.
    for (auto& cb : done_callbacks) {
      if (cb) shared.loop.set_immediate([cb = std::move(cb)] { cb(); });
    }
    done_callbacks.clear();
  }

  detail::ServerShared shared;
  detail::LoopLagProbe lag_probe;
  // WATCHDOG=1 from this loop while the process is watched (from the first listen on).
  detail::WatchdogPing watchdog;
  std::vector<std::unique_ptr<Listener>> listeners;
  herd::detail::List connections;
  std::vector<std::function<void()>> done_callbacks;
  std::size_t listeners_closing = 0;
  bool closing = false;
};

Server::Server(EventLoop& loop, Handler handler, ServerOptions options)
    : impl_(std::make_unique<Impl>(loop, std::move(handler), std::move(options))) {}

Server::~Server() = default;

Status Server::listen(const Address& address) {
  Impl& s = *impl_;
  s.shared.loop.check_thread("Server::listen called off the loop thread");
  if (s.closing) return fail(EINVAL, "listen " + address.to_string() + ": the server is closed");
  auto listener = std::make_unique<Listener>(s.shared.loop);
  auto on_connection = [&s](Fd fd) { s.on_connection(std::move(fd)); };
  Status status;
  if (std::optional<Fd> inherited = take_inherited_socket(address)) {
    log_debug("http: serving {} on an inherited socket (fd {})", address.to_string(),
              inherited->get());
    status = listener->adopt(std::move(*inherited), on_connection);
  } else {
    status = listener->listen(address, on_connection);
  }
  if (!status) return status;
  s.listeners.push_back(std::move(listener));
  if (auto n = sd_notify("READY=1"); !n)
    log_warn("http: sd_notify READY=1: {}", n.error().message());
  s.watchdog.start();
  s.shared.report.start();
  return {};
}

void Server::serve_connection(Fd connection) {
  impl_->shared.loop.check_thread("Server::serve_connection called off the loop thread");
  impl_->on_connection(std::move(connection));
}

std::vector<Address> Server::local_addresses() const {
  std::vector<Address> out;
  for (const auto& l : impl_->listeners) {
    if (l->is_closing()) continue;
    if (auto a = l->local_address()) out.push_back(std::move(*a));
  }
  return out;
}

void Server::close(std::function<void()> done) {
  Impl& s = *impl_;
  s.shared.loop.check_thread("Server::close called off the loop thread");
  s.done_callbacks.push_back(std::move(done));
  if (s.closing) {
    s.maybe_done();
    return;
  }
  // Connections already waiting in the queues are served (and drained below), not reset when
  // the listeners close.
  for (auto& l : s.listeners) l->accept_pending();
  s.closing = true;
  if (auto n = sd_notify("STOPPING=1"); !n) {
    log_warn("http: sd_notify STOPPING=1: {}", n.error().message());
  }
  s.lag_probe.stop();
  for (auto& l : s.listeners) {
    ++s.listeners_closing;
    l->close([&s] {
      --s.listeners_closing;
      s.maybe_done();
    });
  }
  // begin_drain may close a connection, whose close callback runs in the close phase: the
  // list is not changed while it is walked here.
  for (herd::detail::ListNode* n = s.connections.front(); n != s.connections.end(); n = n->next) {
    static_cast<detail::Connection*>(n->owner)->begin_drain();
  }
  s.maybe_done();
}

const ServerMetrics& Server::metrics() const { return impl_->shared.metrics; }

std::string Server::metrics_text() const { return detail::format_metrics(impl_->shared.metrics); }

}  // namespace herd::http
