#include "herd/net/listener.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "herd/base/log.h"

namespace herd {
namespace {

// Accepts per readiness event. libuv accepts until EAGAIN; a bound keeps one listener under a
// connection flood from starving timers and the other descriptors. Level-triggered epoll reports
// the listener again in the next poll if connections remain.
constexpr int kMaxAcceptsPerEvent = 64;
constexpr std::uint64_t kBackoffMs = 100;
constexpr std::uint64_t kWarningIntervalMs = 10'000;

// accept(2) errors after which the next accept may well succeed: the connection died in the
// queue, or (Linux) a pending network error of the new socket was reported through accept.
bool is_transient(int code) {
  switch (code) {
    case ECONNABORTED:
    case EINTR:
    case EPROTO:
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH:
      return true;
    default:
      return false;
  }
}

Result<Fd> open_reserve() { return Fd::open("/dev/null", O_RDONLY); }

// True if `path` is a socket file nobody accepts on: a connect to it is refused. Anything else
// (a regular file, a live server, a full backlog) is left alone.
bool is_stale_unix_socket(const Address& address, const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) < 0 || !S_ISSOCK(st.st_mode)) return false;
  auto probe = Fd::socket(AF_UNIX, SOCK_STREAM);
  if (!probe) return false;
  int r;
  do {
    r = ::connect(probe->get(), address.data(), address.size());
  } while (r < 0 && errno == EINTR);
  return r < 0 && errno == ECONNREFUSED;
}

Status set_int_option(int fd, int level, int name, int value, const char* what,
                      const std::string& address) {
  if (::setsockopt(fd, level, name, &value, sizeof(value)) < 0) {
    return fail_errno(fmt::format("listen {}: setsockopt {}", address, what));
  }
  return {};
}

}  // namespace

Listener::Listener(EventLoop& loop) : Handle(loop), backoff_(loop) {
  // The back-off timer only stands in for the watcher; the Listener itself keeps the loop alive.
  backoff_.unref();
}

Listener::~Listener() {
  destroy_slot().mark_destroyed();
  if (watcher_) watcher_->stop();
  backoff_.stop();
  deactivate();
  remove_unix_file();
}

Status Listener::listen(const Address& address, ConnectionCallback cb,
                        const ListenOptions& options) {
  loop().check_thread("Listener::listen called off the loop thread");
  std::string name = address.to_string();
  if (fd_ || is_closing()) {
    return fail(EINVAL, fmt::format("listen {}: this listener already has a socket", name));
  }
  auto sock = Fd::socket(address.family(), SOCK_STREAM);
  if (!sock) return fail(sock.error().code(), fmt::format("listen {}: socket", name));
  int fd = sock->get();

  if (!address.is_unix()) {
    if (auto s = set_int_option(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR", name); !s) {
      return s;
    }
    if (options.reuse_port) {
      if (auto s = set_int_option(fd, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT", name); !s) {
        return s;
      }
    }
    if (address.family() == AF_INET6) {
      // Set either way: the default comes from a sysctl, and "[::]" should mean the same thing
      // on every machine.
      if (auto s = set_int_option(fd, IPPROTO_IPV6, IPV6_V6ONLY, options.ipv6_only ? 1 : 0,
                                  "IPV6_V6ONLY", name);
          !s) {
        return s;
      }
    }
  }

  std::string path = address.unix_path();
  if (::bind(fd, address.data(), address.size()) < 0) {
    int code = errno;
    // A socket file left behind by a process that died is in the way of every restart; remove
    // it, but only when a connect proves that nobody listens on it.
    bool retried = false;
    if (code == EADDRINUSE && !path.empty() && is_stale_unix_socket(address, path)) {
      log_info("listen {}: removing a stale socket file", name);
      ::unlink(path.c_str());
      retried = true;
      if (::bind(fd, address.data(), address.size()) < 0)
        code = errno;
      else
        code = 0;
    }
    if (code != 0) {
      return fail(
          code, fmt::format("bind {}{}", name, retried ? " (after removing a stale socket)" : ""));
    }
  }
  if (!path.empty()) {
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0) {
      unix_path_ = path;
      unix_dev_ = st.st_dev;
      unix_ino_ = st.st_ino;
    }
  }
  if (::listen(fd, options.backlog) < 0) {
    Error error = Error::from_errno(fmt::format("listen {}", name));
    remove_unix_file();
    return std::unexpected(std::move(error));
  }
  // Opened now, while descriptors are available, so the EMFILE dance has one to give back.
  auto reserve = open_reserve();
  if (!reserve) {
    remove_unix_file();
    return fail(reserve.error().code(), fmt::format("listen {}: reserve descriptor", name));
  }
  // The log names the port the kernel chose, not the ":0" that was asked for.
  auto local = Address::local_of(fd);
  name_ = local && !address.is_unix() ? local->to_string() : std::move(name);
  fd_ = std::move(*sock);
  reserve_ = std::move(*reserve);
  return start_accepting(std::move(cb));
}

Status Listener::adopt(Fd socket, ConnectionCallback cb, const AcceptOptions& options) {
  loop().check_thread("Listener::adopt called off the loop thread");
  int fd = socket.get();
  if (fd_ || is_closing()) {
    return fail(EINVAL, fmt::format("adopt fd {}: this listener already has a socket", fd));
  }
  if (options.max_accepts_per_event < 1 || options.max_accepts_per_event > kMaxAcceptsPerEvent) {
    return fail(EINVAL, fmt::format("adopt fd {}: max_accepts_per_event must be 1..{}", fd,
                                    kMaxAcceptsPerEvent));
  }
  exclusive_ = options.exclusive;
  max_accepts_ = options.max_accepts_per_event;
  int accepting = 0;
  socklen_t len = sizeof(accepting);
  if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) < 0) {
    return fail_errno(fmt::format("adopt fd {}", fd));
  }
  if (!accepting) return fail(EINVAL, fmt::format("adopt fd {}: not a listening socket", fd));
  if (auto s = set_nonblocking(fd, true); !s) return s;
  // An inherited descriptor comes without FD_CLOEXEC; ours must not leak into our children.
  int flags = ::fcntl(fd, F_GETFD);
  if (flags < 0 || ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0) {
    return fail_errno(fmt::format("adopt fd {}: fcntl FD_CLOEXEC", fd));
  }
  auto reserve = open_reserve();
  if (!reserve) {
    return fail(reserve.error().code(), fmt::format("adopt fd {}: reserve descriptor", fd));
  }
  auto local = Address::local_of(fd);
  name_ = local ? local->to_string() : fmt::format("fd {}", fd);
  fd_ = std::move(socket);
  reserve_ = std::move(*reserve);
  return start_accepting(std::move(cb));
}

Status Listener::start_accepting(ConnectionCallback cb) {
  cb_ = std::move(cb);
  watcher_.emplace(loop(), fd_.get());
  // Only the Listener counts as a live handle; its watcher is an implementation detail.
  watcher_->unref();
  watcher_->set_exclusive(exclusive_);
  watcher_->set_callback([this](std::uint32_t) { on_readable(); });
  if (auto s = watcher_->start(kReadable); !s) {
    watcher_.reset();
    fd_.reset();
    reserve_.reset();
    remove_unix_file();
    return fail(s.error().code(), fmt::format("listen {}: {}", name_, s.error().context()));
  }
  accepting_ = true;
  activate();
  return {};
}

void Listener::stop_accepting() {
  accepting_ = false;
  if (watcher_) watcher_->stop();
  backoff_.stop();
  deactivate();
}

void Listener::pause() {
  loop().check_thread("Listener::pause called off the loop thread");
  stop_accepting();
}

Status Listener::resume() {
  loop().check_thread("Listener::resume called off the loop thread");
  if (!fd_ || is_closing() || !watcher_) {
    return fail(EINVAL, "Listener::resume: the listener has no socket");
  }
  if (accepting_) return {};
  if (auto s = watcher_->start(kReadable); !s) return s;
  accepting_ = true;
  activate();
  return {};
}

void Listener::accept_pending() {
  loop().check_thread("Listener::accept_pending called off the loop thread");
  if (!fd_ || !accepting_ || is_closing()) return;
  detail::DestroyGuard guard(destroy_slot());
  for (int i = 0; i < kMaxAcceptsPerEvent * 16; ++i) {
    auto conn = Fd::accept(fd_.get());
    if (!conn) {
      if (is_transient(conn.error().code())) continue;
      return;  // EAGAIN: the queue is empty; anything else waits for the next readable event
    }
    if (cb_) loop().invoke("Listener connection", [&] { cb_(std::move(*conn)); });
    if (guard.destroyed() || !accepting_ || !fd_) return;
  }
}

Result<Address> Listener::local_address() const {
  if (!fd_) return fail(EBADF, "Listener::local_address: the listener has no socket");
  return Address::local_of(fd_.get());
}

void Listener::on_close_requested() {
  stop_accepting();
  // The watcher must forget the descriptor before it is closed (and its number reused).
  fd_.reset();
  reserve_.reset();
  remove_unix_file();
}

void Listener::on_readable() {
  // The connection callback may close this listener, or even destroy it; the guard tells.
  detail::DestroyGuard guard(destroy_slot());
  int accepted = 0;
  for (int i = 0; i < max_accepts_; ++i) {
    auto conn = Fd::accept(fd_.get());
    if (conn) {
      ++accepted;
      if (cb_) loop().invoke("Listener connection", [&] { cb_(std::move(*conn)); });
      if (guard.destroyed()) return;
      if (!accepting_ || !fd_) break;  // paused or closed by the callback
      continue;
    }
    const Error& error = conn.error();
    int code = error.code();
    if (code == EAGAIN || code == EWOULDBLOCK) break;
    if (is_transient(code)) continue;
    if (code == EMFILE || code == ENFILE) {
      if (!drop_pending_connections(error)) back_off();
      break;
    }
    // ENOBUFS, ENOMEM, or a broken socket: retrying at once would only spin.
    log_error("listener {}: {}; pausing accept for {} ms", name_, error.message(), kBackoffMs);
    back_off();
    break;
  }
  // The kernel wakes the exclusive waiters of a socket in the order they were added, so the
  // process that registered first would get every connection while it is idle. Registering
  // again puts this process at the back of the queue: the next connection wakes another one.
  if (exclusive_ && accepted > 0 && accepting_ && fd_ && watcher_ && watcher_->is_active()) {
    watcher_->stop();
    if (auto s = watcher_->start(kReadable); !s) {
      log_error("listener {}: {}; retrying in {} ms", name_, s.error().message(), kBackoffMs);
      back_off();
    }
  }
}

bool Listener::drop_pending_connections(const Error& error) {
  if (!reserve_) return false;
  // Out of descriptors: the queued connections would keep the listener readable forever, and
  // the clients waiting. Give back the reserve so accept can take them, and close them at once:
  // the clients see the connection end instead of a hang.
  reserve_.reset();
  std::uint64_t dropped = 0;
  for (int i = 0; i < kMaxAcceptsPerEvent; ++i) {
    auto conn = Fd::accept(fd_.get());
    if (conn) {
      ++dropped;  // closed here, as `conn` goes out of scope
      continue;
    }
    if (is_transient(conn.error().code())) continue;
    break;  // EAGAIN: the queue is empty; EMFILE: the reserve slot was taken after all
  }
  if (auto reserve = open_reserve(); reserve) reserve_ = std::move(*reserve);
  dropped_ += dropped;
  warn_dropped(error);
  return dropped > 0;
}

void Listener::warn_dropped(const Error& error) {
  std::uint64_t now = loop().now();
  if (warned_ && now - last_warning_ms_ < kWarningIntervalMs) return;
  warned_ = true;
  last_warning_ms_ = now;
  log_warn("listener {}: {} ({}); closed {} connection(s) to keep the listener going", name_,
           error.message(), error.code_name(), dropped_);
  dropped_ = 0;
}

void Listener::back_off() {
  if (watcher_) watcher_->stop();
  backoff_.start(
      [this] {
        if (!reserve_) {
          if (auto reserve = open_reserve(); reserve) reserve_ = std::move(*reserve);
        }
        if (!accepting_ || !fd_ || !watcher_) return;
        if (auto s = watcher_->start(kReadable); !s) {
          log_error("listener {}: {}; retrying in {} ms", name_, s.error().message(), kBackoffMs);
          back_off();
        }
      },
      kBackoffMs);
}

void Listener::remove_unix_file() {
  if (unix_path_.empty()) return;
  struct stat st;
  // Another process may have replaced the file since (a new instance of the server, say).
  if (::lstat(unix_path_.c_str(), &st) == 0 && static_cast<std::uint64_t>(st.st_dev) == unix_dev_ &&
      static_cast<std::uint64_t>(st.st_ino) == unix_ino_) {
    ::unlink(unix_path_.c_str());
  }
  unix_path_.clear();
}

}  // namespace herd
