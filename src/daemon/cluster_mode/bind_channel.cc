#include "daemon/cluster_mode/bind_channel.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <optional>

#include "herd/base/log.h"

extern "C" {
#include "inject/bind_protocol.h"
}

namespace herd::manager {
namespace {

// The address a request names, checked: nullopt (and the reason) when it is malformed.
std::optional<Address> checked_address(const herd_bind_request& req, bool need_port,
                                       const char** why) {
  const auto* sa = reinterpret_cast<const sockaddr*>(&req.addr);
  std::size_t len = req.addr_len;
  if (len > sizeof(req.addr) || len < sizeof(sa_family_t)) {
    *why = "address length out of range";
    return std::nullopt;
  }
  switch (sa->sa_family) {
    case AF_INET:
      if (len != sizeof(sockaddr_in)) break;
      if (need_port && reinterpret_cast<const sockaddr_in*>(sa)->sin_port == 0) {
        *why = "port 0";
        return std::nullopt;
      }
      return Address::from_sockaddr(sa, static_cast<socklen_t>(len));
    case AF_INET6:
      if (len != sizeof(sockaddr_in6)) break;
      if (need_port && reinterpret_cast<const sockaddr_in6*>(sa)->sin6_port == 0) {
        *why = "port 0";
        return std::nullopt;
      }
      return Address::from_sockaddr(sa, static_cast<socklen_t>(len));
    case AF_UNIX: {
      const auto* un = reinterpret_cast<const sockaddr_un*>(sa);
      std::size_t max = len - offsetof(sockaddr_un, sun_path);
      if (len <= offsetof(sockaddr_un, sun_path) || un->sun_path[0] != '/' ||
          ::strnlen(un->sun_path, max) >= max) {
        *why = "not an absolute, NUL-terminated Unix path";
        return std::nullopt;
      }
      return Address::from_sockaddr(sa, static_cast<socklen_t>(len));
    }
    default:
      *why = "address family";
      return std::nullopt;
  }
  *why = "address length does not fit its family";
  return std::nullopt;
}

}  // namespace

Result<std::pair<std::unique_ptr<BindChannel>, Fd>> BindChannel::create(EventLoop& loop,
                                                                        Handlers handlers) {
  auto pair = Fd::socketpair(AF_UNIX, SOCK_SEQPACKET);
  if (!pair) return std::unexpected(pair.error());
  // The program's end: its calls block until the answer comes.
  if (Status s = set_nonblocking(pair->second.get(), false); !s) return std::unexpected(s.error());
  std::unique_ptr<BindChannel> channel(
      new BindChannel(loop, std::move(pair->first), std::move(handlers)));
  return std::make_pair(std::move(channel), std::move(pair->second));
}

std::unique_ptr<BindChannel> BindChannel::adopt(EventLoop& loop, Fd fd, Handlers handlers) {
  return std::unique_ptr<BindChannel>(new BindChannel(loop, std::move(fd), std::move(handlers)));
}

BindChannel::BindChannel(EventLoop& loop, Fd fd, Handlers handlers)
    : fd_(std::move(fd)), watcher_(loop, fd_.get()), handlers_(std::move(handlers)) {}

BindChannel::~BindChannel() { watcher_.stop(); }

Status BindChannel::start() {
  watcher_.unref();
  watcher_.set_callback([this](std::uint32_t) { on_readable(); });
  return watcher_.start(kReadable);
}

void BindChannel::reply(int error, int fd) {
  herd_bind_reply r{HERD_BIND_MAGIC, error};
  if (send_with_descriptor(fd_.get(), &r, sizeof(r), fd, MSG_DONTWAIT) < 0)
    log_warn("bind channel: cannot answer the instance: {}", std::strerror(errno));
}

void BindChannel::on_readable() {
  // One byte more than a request, so that a longer datagram shows as one.
  union {
    herd_bind_request req;
    char bytes[sizeof(herd_bind_request) + 1];
  } in;
  std::memset(&in, 0, sizeof(in));
  iovec iov{in.bytes, sizeof(in.bytes)};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  ssize_t n;
  do {
    // No control buffer: descriptors a peer sends are closed by the kernel (MSG_CTRUNC).
    n = ::recvmsg(fd_.get(), &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
  if (n <= 0) {
    watcher_.stop();  // the instance is gone (or closed its end): nothing more will come
    return;
  }
  const herd_bind_request& req = in.req;
  const char* why = nullptr;
  if (static_cast<std::size_t>(n) != sizeof(req) || (msg.msg_flags & MSG_TRUNC) != 0) {
    why = "wrong size";
  } else if (req.magic != HERD_BIND_MAGIC || req.version != HERD_BIND_VERSION) {
    why = "wrong magic or version";
  } else if (req.v6only < -1 || req.v6only > 1) {
    why = "v6only out of range";
  }
  if (why == nullptr) {
    switch (req.op) {
      case HERD_BIND_OP_BIND: {
        auto address = checked_address(req, true, &why);
        if (!address) break;
        auto fd = handlers_.bind(*address, address->family() == AF_INET6 ? req.v6only : -1);
        if (!fd) return reply(fd.error().code() != 0 ? fd.error().code() : EINVAL);
        return reply(0, *fd);
      }
      case HERD_BIND_OP_LISTENING: {
        auto address = req.addr_len == 0 ? std::optional<Address>(Address())
                                         : checked_address(req, false, &why);
        if (!address) break;
        reply(0);
        handlers_.listening(*address);  // last: it may destroy this channel
        return;
      }
      case HERD_BIND_OP_HELD_PATH: {
        auto address = checked_address(req, false, &why);
        if (!address) break;
        if (!address->is_unix()) {
          why = "not a Unix path";
          break;
        }
        return reply(handlers_.holds_path(address->unix_path()) ? 0 : ENOENT);
      }
      default:
        why = "unknown operation";
    }
  }
  log_warn("bind channel: malformed request ({}); answered EINVAL", why);
  reply(EINVAL);
}

}  // namespace herd::manager
