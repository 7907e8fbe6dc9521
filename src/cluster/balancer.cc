#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster/internal.h"
#include "herd/base/log.h"
#include "herd/net/socket_activation.h"

namespace herd::cluster::detail {
namespace {

Status set_option(int fd, int level, int name, const char* what, const std::string& address) {
  int one = 1;
  if (::setsockopt(fd, level, name, &one, sizeof(one)) < 0) {
    return fail_errno(fmt::format("listen {}: setsockopt {}", address, what));
  }
  return {};
}

}  // namespace

Result<Fd> bind_socket(const Address& address, bool reuse_port, int backlog) {
  std::string name = address.to_string();
  auto sock = Fd::socket(address.family(), SOCK_STREAM);
  if (!sock) return fail(sock.error().code(), fmt::format("listen {}: socket", name));
  int fd = sock->get();
  if (!address.is_unix()) {
    if (auto s = set_option(fd, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR", name); !s)
      return std::unexpected(s.error());
    if (reuse_port) {
      if (auto s = set_option(fd, SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT", name); !s)
        return std::unexpected(s.error());
    }
  }
  if (::bind(fd, address.data(), address.size()) < 0)
    return fail_errno(fmt::format("bind {}", name));
  if (::listen(fd, backlog) < 0) return fail_errno(fmt::format("listen {}", name));
  return sock;
}

Balancer::~Balancer() { close(); }

Result<Balancer::Group*> Balancer::group_for(const Address& address) {
  std::string key = address.to_string();
  for (auto& g : groups_) {
    if (g->key == key) return g.get();
  }
  if (closed_) return fail(EINVAL, "listen " + key + ": the cluster is stopping");
  auto group = std::make_unique<Group>();
  group->index = static_cast<int>(groups_.size());
  group->key = key;
  Group* g = group.get();
  // SO_REUSEPORT has no meaning for Unix sockets: every worker accepts from the one socket.
  g->mode = scheduling_ == Scheduling::kReusePort && address.is_unix() ? Scheduling::kShared
                                                                       : scheduling_;
  switch (g->mode) {
    case Scheduling::kRoundRobin: {
      g->listener = std::make_unique<Listener>(loop_);
      auto on_conn = [this, g](Fd fd) { on_connection(*g, std::move(fd)); };
      Status s;
      if (std::optional<Fd> inherited = take_inherited_socket(address)) {
        s = g->listener->adopt(std::move(*inherited), on_conn);
      } else {
        s = g->listener->listen(address, on_conn);
      }
      if (!s) return std::unexpected(s.error());
      // The listener does not keep the primary alive: its workers do.
      g->listener->unref();
      auto bound = g->listener->local_address();
      g->address = bound ? *bound : address;
      break;
    }
    case Scheduling::kShared: {
      std::optional<Fd> sock = take_inherited_socket(address);
      if (!sock) {
        auto bound = bind_socket(address, false);
        if (!bound) return std::unexpected(bound.error());
        sock = std::move(*bound);
        g->unix_path = address.unix_path();
      }
      auto local = Address::local_of(sock->get());
      g->address = local ? *local : address;
      g->socket = std::move(*sock);
      break;
    }
    case Scheduling::kReusePort: {
      // The first slot's socket fixes the port (the kernel's choice for port 0); the others
      // are bound to it when their slot first listens.
      auto first = bind_socket(address, true);
      if (!first) return std::unexpected(first.error());
      auto local = Address::local_of(first->get());
      g->address = local ? *local : address;
      g->slots.emplace(-1, std::move(*first));
      break;
    }
  }
  groups_.push_back(std::move(group));
  return g;
}

Result<Balancer::Grant> Balancer::listen(int id, int slot, Channel* channel,
                                         const Address& address) {
  auto group = group_for(address);
  if (!group) return std::unexpected(group.error());
  Group& g = **group;
  Grant grant;
  grant.group = g.index;
  grant.address = g.address;
  grant.mode = g.mode;
  switch (g.mode) {
    case Scheduling::kRoundRobin: {
      auto [it, inserted] = g.members.try_emplace(id);
      it->second.channel = channel;
      if (inserted) make_ready(g, id, it->second);
      dispatch(g);
      break;
    }
    case Scheduling::kShared: {
      auto dup = g.socket.dup();
      if (!dup) return std::unexpected(dup.error());
      grant.socket = std::move(*dup);
      break;
    }
    case Scheduling::kReusePort: {
      auto it = g.slots.find(slot);
      if (it == g.slots.end()) {
        // The socket bound first becomes this slot's; later slots bind their own.
        if (auto first = g.slots.find(-1); first != g.slots.end()) {
          Fd fd = std::move(first->second);
          g.slots.erase(first);
          it = g.slots.emplace(slot, std::move(fd)).first;
        } else {
          auto bound = bind_socket(g.address, true);
          if (!bound) return std::unexpected(bound.error());
          it = g.slots.emplace(slot, std::move(*bound)).first;
        }
      }
      auto dup = it->second.dup();
      if (!dup) return std::unexpected(dup.error());
      grant.socket = std::move(*dup);
      break;
    }
  }
  return grant;
}

void Balancer::make_ready(Group& g, int id, Member& m) {
  if (m.in_ready || m.credit <= 0) return;
  m.in_ready = true;
  g.ready.push_back(id);
}

void Balancer::on_connection(Group& g, Fd connection) {
  g.pending.push_back(std::move(connection));
  dispatch(g);
}

void Balancer::dispatch(Group& g) {
  while (!g.pending.empty() && !g.ready.empty()) {
    int id = g.ready.front();
    g.ready.pop_front();
    auto it = g.members.find(id);
    if (it == g.members.end()) continue;  // removed since it was queued
    Member& m = it->second;
    m.in_ready = false;
    // A worker whose channel is backed up (its loop is not reading) waits for its drain.
    if (m.credit <= 0 || !m.channel->is_open() || m.channel->backed_up()) continue;
    std::vector<Fd> fds;
    fds.push_back(std::move(g.pending.front()));
    g.pending.pop_front();
    if (auto s = m.channel->send({{"k", "conn"}, {"g", g.index}}, std::move(fds)); !s) {
      log_warn("cluster: passing a connection to worker {}: {}", id, s.error().message());
      continue;
    }
    --m.credit;
    make_ready(g, id, m);
  }
  // Hold at most kMaxPending here; beyond, the kernel's accept queue holds them.
  if (g.listener) {
    if (!g.paused && g.pending.size() >= kMaxPending) {
      g.listener->pause();
      g.paused = true;
    } else if (g.paused && g.pending.size() < kMaxPending / 2 && !closed_) {
      if (g.listener->resume()) g.paused = false;
      g.listener->unref();
    }
  }
}

void Balancer::ack(int id, int group, int count) {
  if (group < 0 || static_cast<std::size_t>(group) >= groups_.size() || count <= 0) return;
  Group& g = *groups_[static_cast<std::size_t>(group)];
  auto it = g.members.find(id);
  if (it == g.members.end()) return;
  it->second.credit = std::min(kCredit, it->second.credit + count);
  make_ready(g, id, it->second);
  dispatch(g);
}

void Balancer::give_back(int group, Fd connection) {
  if (group < 0 || static_cast<std::size_t>(group) >= groups_.size() || closed_) return;
  Group& g = *groups_[static_cast<std::size_t>(group)];
  g.pending.push_front(std::move(connection));
  dispatch(g);
}

void Balancer::remove(int id) {
  for (auto& g : groups_) g->members.erase(id);
}

void Balancer::drained(int id) {
  for (auto& g : groups_) {
    auto it = g->members.find(id);
    if (it == g->members.end()) continue;
    make_ready(*g, id, it->second);
    dispatch(*g);
  }
}

void Balancer::close() {
  if (closed_) return;
  closed_ = true;
  for (auto& g : groups_) {
    // Closed at once (new connections are refused); the object goes with the Balancer, which
    // is safe even before the close phase ran (Handle's contract).
    if (g->listener && !g->listener->is_closing()) g->listener->close();
    g->pending.clear();
    g->socket.reset();
    if (!g->unix_path.empty()) ::unlink(g->unix_path.c_str());
    g->slots.clear();
  }
}

}  // namespace herd::cluster::detail
