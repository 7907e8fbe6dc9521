#include <fmt/format.h>
#include <signal.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <map>

#include "cluster/internal.h"
#include "herd/base/log.h"
#include "herd/cluster/cluster_worker.h"
#include "herd/loop/signal.h"

namespace herd::cluster {

using nlohmann::json;

struct WorkerProcess::Impl {
  explicit Impl(EventLoop& l) : loop(l), sigterm(l), sigint(l) {}

  struct Group {
    Listener::ConnectionCallback on_connection;
    std::unique_ptr<Listener> listener;  // shared and reuseport: the socket the primary gave
    int acks = 0;                        // connections taken, not yet acknowledged (rr)
  };

  Status start() {
    if (channel) return fail(EINVAL, "cluster worker: already started");
    const char* id_text = std::getenv(detail::kWorkerIdEnv);
    const char* fd_text = std::getenv(detail::kChannelFdEnv);
    if (id_text == nullptr || fd_text == nullptr) {
      return fail(EINVAL, "cluster worker: not started by a cluster primary (no " +
                              std::string(detail::kWorkerIdEnv) + ")");
    }
    std::string_view id_view(id_text), fd_view(fd_text);
    int fd = -1;
    auto r1 = std::from_chars(id_view.data(), id_view.data() + id_view.size(), id);
    auto r2 = std::from_chars(fd_view.data(), fd_view.data() + fd_view.size(), fd);
    if (r1.ec != std::errc() || r2.ec != std::errc() || fd < 0) {
      return fail(EINVAL, fmt::format("cluster worker: bad {}/{} ({}/{})", detail::kWorkerIdEnv,
                                      detail::kChannelFdEnv, id_text, fd_text));
    }
    if (const char* s = std::getenv(detail::kSchedEnv); s != nullptr) {
      if (auto p = parse_scheduling(s)) scheduling = *p;
    }
    // Ours now: not passed on to whatever this worker runs.
    if (auto s = set_nonblocking(fd, true); !s) return s;
    Fd owned(fd);
    if (auto dup = owned.dup(); dup) {
      owned = std::move(*dup);  // the CLOEXEC copy; fd 3 is closed
    }
    ::unsetenv(detail::kWorkerIdEnv);
    ::unsetenv(detail::kChannelFdEnv);
    channel = std::make_unique<Channel>(loop, std::move(owned));
    // The channel alone does not keep the worker alive: its servers and the user's handles do.
    channel->unref();
    channel->on_message([this](ChannelMessage m) { on_message(std::move(m)); });
    channel->on_request([this](ChannelMessage m, Responder r) {
      if (auto u = m.body.find("u"); u != m.body.end() && request_cb) {
        request_cb(ChannelMessage{std::move(*u), std::move(m.fds)}, std::move(r));
      } else {
        r.fail("the worker has no request handler");
      }
    });
    channel->on_end([this](Status why) {
      if (!why) log_warn("cluster worker {}: channel: {}", id, why.error().message());
      // The primary is gone or done with this worker: finish what is in flight and leave.
      begin_disconnect(false);
      if (!channel->is_closing()) channel->close();
    });
    if (auto s = channel->start(); !s) return s;
    if (auto s = channel->send({{"k", "online"}}); !s) return s;
    if (auto s = sigterm.start(SIGTERM, [this](int) { begin_disconnect(true); }); !s) return s;
    sigterm.unref();
    if (auto s = sigint.start(SIGINT, [](int) {}); !s) return s;
    sigint.unref();
    return {};
  }

  void on_message(ChannelMessage m) {
    if (!m.body.is_object()) return;
    if (auto u = m.body.find("u"); u != m.body.end()) {
      if (message_cb) message_cb(ChannelMessage{std::move(*u), std::move(m.fds)});
      return;
    }
    std::string kind = m.body.value("k", "");
    if (kind == "conn") {
      int g = m.body.value("g", -1);
      if (m.fds.empty()) return;
      auto it = groups.find(g);
      if (disconnecting || it == groups.end() || !it->second.on_connection) {
        // Not ours to serve any more: back to the primary, for another worker.
        std::vector<Fd> fds;
        fds.push_back(std::move(m.fds.front()));
        (void)channel->send({{"k", "return"}, {"g", g}}, std::move(fds));
        return;
      }
      ++it->second.acks;
      schedule_ack();
      loop.invoke("cluster connection",
                  [&] { it->second.on_connection(std::move(m.fds.front())); });
    } else if (kind == "disconnect") {
      begin_disconnect(false);
    }
  }

  // One acknowledgement per group per loop iteration, after every connection of the batch.
  void schedule_ack() {
    if (ack_scheduled) return;
    ack_scheduled = true;
    loop.set_immediate([this] {
      ack_scheduled = false;
      for (auto& [g, group] : groups) {
        if (group.acks == 0) continue;
        (void)channel->send({{"k", "ack"}, {"g", g}, {"n", group.acks}});
        group.acks = 0;
      }
    });
  }

  void listen(const Address& address, Listener::ConnectionCallback on_connection,
              ListenCallback done) {
    if (!channel || !channel->is_open() || disconnecting) {
      Error e(EINVAL, "listen " + address.to_string() + ": the worker is not connected");
      loop.set_immediate([done, e] { done(std::unexpected(e)); });
      return;
    }
    auto cb = std::make_shared<Listener::ConnectionCallback>(std::move(on_connection));
    ++listens_pending;
    update_ref();
    auto s = channel->request(
        {{"k", "listen"}, {"address", address.to_string()}},
        [this, cb, done](Result<ChannelMessage> reply) mutable {
          --listens_pending;
          update_ref();
          if (!reply) return done(std::unexpected(reply.error()));
          int g = reply->body.value("g", -1);
          auto actual = Address::parse(reply->body.value("address", ""));
          if (!actual) return done(std::unexpected(actual.error()));
          if (disconnecting) {
            return done(fail(EINVAL, "listen " + actual->to_string() + ": disconnecting"));
          }
          Group& group = groups[g];
          group.on_connection = std::move(*cb);
          if (!reply->fds.empty()) {
            group.listener = std::make_unique<Listener>(loop);
            AcceptOptions options;
            if (reply->body.value("mode", "") == "shared") {
              options.exclusive = true;
              options.max_accepts_per_event = 1;
            }
            Status st = group.listener->adopt(
                std::move(reply->fds.front()),
                [this, g](Fd fd) {
                  auto it = groups.find(g);
                  if (it != groups.end() && it->second.on_connection) {
                    it->second.on_connection(std::move(fd));
                  }
                },
                options);
            if (!st) {
              groups.erase(g);
              return done(std::unexpected(st.error()));
            }
          }
          // Round robin: the channel is where connections come from, and keeps the worker alive
          // until it disconnects (a listener does that in the other modes).
          if (reply->fds.empty()) ++rr_groups;
          update_ref();
          (void)channel->send({{"k", "listening"}, {"g", g}, {"address", actual->to_string()}});
          done(*actual);
        });
    if (!s) {
      --listens_pending;
      update_ref();
      Error e = s.error();
      loop.set_immediate([done, e] { done(std::unexpected(e)); });
    }
  }

  void begin_disconnect(bool tell_primary) {
    if (disconnecting) return;
    disconnecting = true;
    if (tell_primary && channel && channel->is_open()) {
      (void)channel->send({{"k", "disconnecting"}});
    }
    if (disconnect_cb) disconnect_cb();
    for (auto& [g, group] : groups) {
      if (group.listener && !group.listener->is_closing()) group.listener->close();
    }
    sigterm.stop();
    sigint.stop();
    update_ref();
    servers_left = servers.size();
    if (servers_left == 0) finish_disconnect();
    for (http::Server* server : servers) {
      server->close([this] {
        if (--servers_left == 0) finish_disconnect();
      });
    }
  }

  // The channel keeps the worker alive while it waits for the primary's answer to a listen, and
  // (round robin) while connections come from it, until the disconnect.
  void update_ref() {
    if (!channel) return;
    bool want = listens_pending > 0 || (rr_groups > 0 && !disconnecting);
    if (want && !channel->has_ref()) channel->ref();
    if (!want && channel->has_ref()) channel->unref();
  }

  void finish_disconnect() {
    if (channel && channel->is_open()) channel->end();
  }

  EventLoop& loop;
  int id = 0;
  Scheduling scheduling = kDefaultScheduling;
  std::unique_ptr<Channel> channel;
  Signal sigterm;
  Signal sigint;
  std::map<int, Group> groups;
  std::vector<http::Server*> servers;
  std::size_t servers_left = 0;
  int listens_pending = 0;
  int rr_groups = 0;
  bool disconnecting = false;
  bool ack_scheduled = false;
  std::function<void(ChannelMessage)> message_cb;
  std::function<void(ChannelMessage, Responder)> request_cb;
  std::function<void()> disconnect_cb;
};

WorkerProcess::WorkerProcess(EventLoop& loop) : impl_(std::make_unique<Impl>(loop)) {}
WorkerProcess::~WorkerProcess() = default;

Status WorkerProcess::start() { return impl_->start(); }
int WorkerProcess::id() const { return impl_->id; }
Scheduling WorkerProcess::scheduling() const { return impl_->scheduling; }

void WorkerProcess::listen(const Address& address, Listener::ConnectionCallback on_connection,
                           ListenCallback done) {
  impl_->listen(address, std::move(on_connection), std::move(done));
}

void WorkerProcess::serve(http::Server& server, const Address& address, ListenCallback done) {
  if (std::find(impl_->servers.begin(), impl_->servers.end(), &server) == impl_->servers.end()) {
    impl_->servers.push_back(&server);
  }
  impl_->listen(
      address, [&server](Fd fd) { server.serve_connection(std::move(fd)); }, std::move(done));
}

Status WorkerProcess::send(nlohmann::json body, std::vector<Fd> fds) {
  if (!impl_->channel) return fail(EPIPE, "cluster worker: not started");
  return impl_->channel->send({{"u", std::move(body)}}, std::move(fds));
}

Status WorkerProcess::request(nlohmann::json body, Channel::ReplyCallback cb) {
  if (!impl_->channel) return fail(EPIPE, "cluster worker: not started");
  return impl_->channel->request({{"u", std::move(body)}}, std::move(cb));
}

void WorkerProcess::on_message(std::function<void(ChannelMessage)> cb) {
  impl_->message_cb = std::move(cb);
}
void WorkerProcess::on_request(std::function<void(ChannelMessage, Responder)> cb) {
  impl_->request_cb = std::move(cb);
}
void WorkerProcess::on_disconnect(std::function<void()> cb) {
  impl_->disconnect_cb = std::move(cb);
}
void WorkerProcess::disconnect() { impl_->begin_disconnect(true); }
bool WorkerProcess::is_disconnecting() const { return impl_->disconnecting; }

}  // namespace herd::cluster
