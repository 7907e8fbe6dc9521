#include "daemon/cluster_mode/listen_set.h"

#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace herd::manager {
namespace {

// A socket file is stale when nothing accepts connections on it any more. Only a socket file:
// connect() to any other kind of file fails with ECONNREFUSED too, and that one is not ours.
bool is_stale_unix_socket(const Address& a) {
  struct stat st {};
  if (::lstat(a.unix_path().c_str(), &st) < 0 || !S_ISSOCK(st.st_mode)) return false;
  auto probe = Fd::socket(AF_UNIX, SOCK_STREAM);
  if (!probe) return false;
  return ::connect(probe->get(), a.data(), a.size()) < 0 && errno == ECONNREFUSED;
}

bool is_wildcard(const Address& a) {
  if (a.family() == AF_INET) {
    return reinterpret_cast<const sockaddr_in*>(a.data())->sin_addr.s_addr == htonl(INADDR_ANY);
  }
  if (a.family() == AF_INET6) {
    return IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<const sockaddr_in6*>(a.data())->sin6_addr);
  }
  return false;
}

}  // namespace

ListenSet::~ListenSet() {
  for (auto& h : held_) close_held(h);
}

void ListenSet::close_held(Held& held) {
  held.fd.reset();
  if (!held.unix_path.empty()) ::unlink(held.unix_path.c_str());
  held.unix_path.clear();
}

Result<ListenSet::Held> ListenSet::bind_one(const Address& addr, int v6only, int backlog) {
  auto fd = Fd::socket(addr.family(), SOCK_STREAM);
  if (!fd) return std::unexpected(fd.error());
  int on = 1;
  if (!addr.is_unix()) ::setsockopt(fd->get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  if (addr.family() == AF_INET6 && v6only >= 0) {
    int value = v6only;
    ::setsockopt(fd->get(), IPPROTO_IPV6, IPV6_V6ONLY, &value, sizeof(value));
  }
  int rc = ::bind(fd->get(), addr.data(), addr.size());
  std::string path = addr.unix_path();
  if (rc < 0 && errno == EADDRINUSE && !path.empty() && is_stale_unix_socket(addr)) {
    ::unlink(path.c_str());
    rc = ::bind(fd->get(), addr.data(), addr.size());
  }
  if (rc < 0) return fail_errno(fmt::format("bind {}", addr.to_string()));
  Held held;
  held.unix_path = path;
  if (::listen(fd->get(), backlog) < 0) {
    Error e = Error::from_errno(fmt::format("listen {}", addr.to_string()));
    if (!path.empty()) ::unlink(path.c_str());
    return std::unexpected(e);
  }
  auto bound = Address::local_of(fd->get());
  held.address = bound ? *bound : addr;
  held.fd = std::move(*fd);
  if (addr.family() == AF_INET6) {
    int value = 0;
    socklen_t len = sizeof(value);
    if (::getsockopt(held.fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &value, &len) == 0) {
      held.v6only = value != 0;
    }
  }
  return held;
}

Result<ListenSet> ListenSet::bind(const std::vector<std::string>& addresses, int backlog) {
  ListenSet set;
  for (const auto& text : addresses) {
    auto addr = Address::parse(text);
    if (!addr) return std::unexpected(addr.error());
    auto held = bind_one(*addr, -1, backlog);
    if (!held) return std::unexpected(held.error());
    set.held_.push_back(std::move(*held));
  }
  return set;
}

Result<int> ListenSet::acquire(const Address& wanted, int v6only, int backlog) {
  auto same = [&](const Held& h) {
    if (!h.fd.valid()) return false;
    if (h.address == wanted) return wanted.family() != AF_INET6 || v6only < 0 || h.v6only == v6only;
    if (wanted.is_unix() || h.address.is_unix() || h.address.port() != wanted.port()) return false;
    if (!is_wildcard(wanted) || !is_wildcard(h.address)) return false;
    // Wildcards of the other family: `listen: [":3000"]` and a program that binds [::]:3000
    // mean the same thing to a person; a dual-stack [::] also takes 0.0.0.0's connections.
    if (wanted.family() == AF_INET6) return h.address.family() == AF_INET;
    return h.address.family() == AF_INET6 && h.v6only == 0;
  };
  if (auto it = std::find_if(held_.begin(), held_.end(), same); it != held_.end()) {
    return it->fd.get();
  }
  auto held = bind_one(wanted, v6only, backlog);
  if (!held) return std::unexpected(held.error());
  held->on_demand = true;
  // A closed slot is reused, so an app that binds and releases often does not grow the list.
  auto free = std::find_if(held_.begin(), held_.end(), [](const Held& h) { return !h.fd.valid(); });
  if (free == held_.end()) free = held_.insert(held_.end(), Held{});
  *free = std::move(*held);
  return free->fd.get();
}

bool ListenSet::holds_unix_path(std::string_view path) const {
  return std::any_of(held_.begin(), held_.end(), [&](const Held& h) {
    return h.fd.valid() && !h.unix_path.empty() && h.unix_path == path;
  });
}

void ListenSet::close_all() {
  for (auto& h : held_) close_held(h);
  held_.clear();
}

void ListenSet::release_on_demand() {
  for (auto& h : held_) {
    if (h.on_demand) close_held(h);
  }
  std::erase_if(held_, [](const Held& h) { return !h.fd.valid(); });
}

nlohmann::json ListenSet::takeover_state(std::vector<int>* keep) const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& h : held_) {
    if (!h.fd.valid()) continue;
    keep->push_back(h.fd.get());
    out.push_back({{"fd", h.fd.get()},
                   {"address", h.address.to_string()},
                   {"v6only", h.v6only},
                   {"on_demand", h.on_demand},
                   {"unix_path", h.unix_path}});
  }
  return out;
}

Result<ListenSet> ListenSet::adopt(const nlohmann::json& state) {
  ListenSet set;
  try {
    for (const auto& e : state) {
      Held h;
      h.fd = Fd(e.at("fd").get<int>());
      auto address = Address::parse(e.at("address").get<std::string>());
      if (!address) return std::unexpected(address.error());
      h.address = *address;
      h.v6only = e.at("v6only").get<int>();
      h.on_demand = e.at("on_demand").get<bool>();
      h.unix_path = e.at("unix_path").get<std::string>();
      set.held_.push_back(std::move(h));
    }
  } catch (const nlohmann::json::exception& e) {
    return fail(EINVAL, std::string("listen sockets state: ") + e.what());
  }
  return set;
}

bool ListenSet::has_static() const {
  return std::any_of(held_.begin(), held_.end(), [](const Held& h) { return !h.on_demand; });
}

std::vector<int> ListenSet::fds() const {
  std::vector<int> out;
  for (const auto& h : held_) {
    if (!h.on_demand) out.push_back(h.fd.get());
  }
  return out;
}

std::vector<std::string> ListenSet::names() const {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < fds().size(); ++i) out.push_back(fmt::format("listen{}", i));
  return out;
}

std::vector<Address> ListenSet::addresses() const {
  std::vector<Address> out;
  for (bool on_demand : {false, true}) {
    for (const auto& h : held_) {
      if (h.on_demand == on_demand && h.fd.valid()) out.push_back(h.address);
    }
  }
  return out;
}

}  // namespace herd::manager
