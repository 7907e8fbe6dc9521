#include "manager/listen_set.h"

#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>

namespace herd::manager {
namespace {

std::string unix_path(const Address& a) {
  const auto* un = reinterpret_cast<const sockaddr_un*>(a.data());
  return std::string(un->sun_path);
}

// A socket file is stale when nothing accepts connections on it any more.
bool is_stale_unix_socket(const Address& a) {
  auto probe = Fd::socket(AF_UNIX, SOCK_STREAM);
  if (!probe) return false;
  return ::connect(probe->get(), a.data(), a.size()) < 0 && errno == ECONNREFUSED;
}

}  // namespace

ListenSet::~ListenSet() {
  fds_.clear();
  for (const auto& p : unix_paths_) ::unlink(p.c_str());
}

Result<ListenSet> ListenSet::bind(const std::vector<std::string>& addresses, int backlog) {
  ListenSet set;
  for (const auto& text : addresses) {
    auto addr = Address::parse(text);
    if (!addr) return std::unexpected(addr.error());
    auto fd = Fd::socket(addr->family(), SOCK_STREAM);
    if (!fd) return std::unexpected(fd.error());
    int on = 1;
    if (!addr->is_unix()) ::setsockopt(fd->get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    int rc = ::bind(fd->get(), addr->data(), addr->size());
    if (rc < 0 && errno == EADDRINUSE && addr->is_unix() && is_stale_unix_socket(*addr)) {
      ::unlink(unix_path(*addr).c_str());
      rc = ::bind(fd->get(), addr->data(), addr->size());
    }
    if (rc < 0) return fail_errno(fmt::format("bind {}", addr->to_string()));
    if (addr->is_unix()) set.unix_paths_.push_back(unix_path(*addr));
    if (::listen(fd->get(), backlog) < 0) {
      return fail_errno(fmt::format("listen {}", addr->to_string()));
    }
    auto bound = Address::local_of(fd->get());
    set.addresses_.push_back(bound ? *bound : *addr);
    set.fds_.push_back(std::move(*fd));
  }
  return set;
}

std::vector<int> ListenSet::fds() const {
  std::vector<int> out;
  for (const auto& fd : fds_) out.push_back(fd.get());
  return out;
}

std::vector<std::string> ListenSet::names() const {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < fds_.size(); ++i) out.push_back(fmt::format("listen{}", i));
  return out;
}

}  // namespace herd::manager
