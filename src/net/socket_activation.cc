#include "herd/net/socket_activation.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdlib>
#include <mutex>

#include "herd/base/log.h"

namespace herd {
namespace {

// SD_LISTEN_FDS_START: the first passed descriptor; 0, 1 and 2 stay stdin, stdout, stderr.
constexpr int kFirstFd = 3;

// A strict decimal number: digits only (no sign, no spaces, no trailing text), within T.
// libsystemd's parser accepts a little more (leading white space, '+'); nobody who sets these
// variables writes those, and refusing them keeps the rule easy to state.
template <class T>
std::optional<T> parse_decimal(std::string_view text) {
  if (text.empty() || text.front() < '0' || text.front() > '9') return std::nullopt;
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string_view env_or_empty(const char* name, bool* present) {
  const char* v = std::getenv(name);
  *present = v != nullptr;
  return v != nullptr ? std::string_view(v) : std::string_view();
}

// Reads LISTEN_PID / LISTEN_FDS / LISTEN_FDNAMES once. The rules are sd_listen_fds()'s, so a
// program sees the same sockets whether it asks libherd or libsystemd: nothing unless LISTEN_PID
// names this very process (the variables may have leaked from a parent that was activated
// itself), and nothing at all when a value is malformed or a descriptor in the range is not
// open, since then the numbering cannot be trusted. A LISTEN_FDNAMES whose count does not match
// only loses the names (libsystemd's sd_listen_fds_with_names would fail outright), because the
// sockets are still usable by address.
std::vector<InheritedSocket> parse_environment() {
  bool has_pid = false, has_fds = false, has_names = false;
  std::string_view pid_text = env_or_empty("LISTEN_PID", &has_pid);
  std::string_view fds_text = env_or_empty("LISTEN_FDS", &has_fds);
  std::string_view names_text = env_or_empty("LISTEN_FDNAMES", &has_names);
  if (!has_pid && !has_fds) return {};
  if (!has_pid) {
    log_warn("LISTEN_FDS={} without LISTEN_PID; ignoring socket activation", fds_text);
    return {};
  }
  auto pid = parse_decimal<pid_t>(pid_text);
  if (!pid || *pid <= 0) {
    log_warn("LISTEN_PID={} is not a process id; ignoring socket activation", pid_text);
    return {};
  }
  if (*pid != ::getpid()) {
    log_debug("LISTEN_PID={} is not this process ({}); the sockets are not ours", *pid, ::getpid());
    return {};
  }
  if (!has_fds) {
    log_warn("LISTEN_PID is set but LISTEN_FDS is not; ignoring socket activation");
    return {};
  }
  auto count = parse_decimal<int>(fds_text);
  if (!count || *count <= 0 || *count > INT_MAX - kFirstFd) {
    log_warn("LISTEN_FDS={} is not a positive count of descriptors; ignoring socket activation",
             fds_text);
    return {};
  }

  std::vector<InheritedSocket> sockets;
  sockets.reserve(static_cast<std::size_t>(*count));
  for (int fd = kFirstFd; fd < kFirstFd + *count; ++fd) {
    int flags = ::fcntl(fd, F_GETFD);
    if (flags < 0) {
      log_warn("LISTEN_FDS={} but descriptor {} is not open; ignoring socket activation", fds_text,
               fd);
      return {};
    }
    sockets.push_back(InheritedSocket{fd, {}});
  }
  // Only now that the whole set is known good: mark each descriptor CLOEXEC, so that a program
  // we exec (a shell-out, a child worker) does not hold our listening sockets open.
  for (const auto& s : sockets) {
    int flags = ::fcntl(s.fd, F_GETFD);
    if (flags >= 0 && (flags & FD_CLOEXEC) == 0) ::fcntl(s.fd, F_SETFD, flags | FD_CLOEXEC);
  }

  if (has_names) {
    std::vector<std::string> names;
    std::size_t start = 0;
    for (;;) {
      std::size_t colon = names_text.find(':', start);
      names.emplace_back(names_text.substr(start, colon - start));
      if (colon == std::string_view::npos) break;
      start = colon + 1;
    }
    if (names.size() != sockets.size()) {
      log_warn("LISTEN_FDNAMES={} names {} descriptors but LISTEN_FDS={}; ignoring the names",
               names_text, names.size(), sockets.size());
    } else {
      for (std::size_t i = 0; i < sockets.size(); ++i) sockets[i].name = std::move(names[i]);
    }
  }
  log_debug("socket activation: {} inherited descriptor(s)", sockets.size());
  return sockets;
}

// The parsed list and which entries were handed out. take_inherited_socket() may be called from
// any thread (one loop per thread, each with its own server), hence the mutex.
struct Registry {
  std::vector<InheritedSocket> sockets = parse_environment();
  std::vector<bool> taken = std::vector<bool>(sockets.size(), false);
  std::mutex mu;
};

Registry& registry() {
  static Registry r;
  return r;
}

bool is_wildcard(const Address& a) {
  if (a.family() == AF_INET) {
    return reinterpret_cast<const sockaddr_in*>(a.data())->sin_addr.s_addr == htonl(INADDR_ANY);
  }
  return a.family() == AF_INET6 &&
         IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<const sockaddr_in6*>(a.data())->sin6_addr);
}

// `inherited` is where a socket is bound; `wanted` what the program asked for. IP addresses
// match by port: a port of 0 in `wanted` stands for "any port" (a program that picks its port
// at run time, tests, `--port 0`), and the hosts match when they are equal or either is a
// wildcard (0.0.0.0 or [::], of either family): a program that asks for 0.0.0.0:8080 takes the
// 127.0.0.1:8080 herd was told to bind, and one that asks for 127.0.0.1:8080 takes [::]:8080.
bool address_matches(const Address& wanted, const Address& inherited) {
  if (wanted == inherited) return true;
  if (wanted.is_unix() || inherited.is_unix() || wanted.family() == AF_UNSPEC) return false;
  if (wanted.port() != 0 && wanted.port() != inherited.port()) return false;
  if (is_wildcard(wanted) || is_wildcard(inherited)) return true;
  return wanted.with_port(inherited.port()) == inherited;
}

}  // namespace

const std::vector<InheritedSocket>& inherited_sockets() { return registry().sockets; }

std::optional<Fd> take_inherited_socket(const Address& address, std::string_view name) {
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  for (std::size_t i = 0; i < r.sockets.size(); ++i) {
    if (r.taken[i]) continue;
    const InheritedSocket& s = r.sockets[i];
    bool match;
    if (!name.empty()) {
      match = s.name == name;
    } else {
      auto local = Address::local_of(s.fd);
      match = local && address_matches(address, *local);
    }
    if (match) {
      r.taken[i] = true;
      return Fd(s.fd);
    }
  }
  return std::nullopt;
}

Address default_listen_address(const Address& fallback) {
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  if (r.sockets.size() != 1 || r.taken[0]) return fallback;
  auto local = Address::local_of(r.sockets[0].fd);
  return local ? *local : fallback;
}

Status sd_notify(std::string_view state) {
  const char* env = std::getenv("NOTIFY_SOCKET");
  if (env == nullptr || *env == '\0') return {};
  std::string_view where(env);
  auto context = [&] {
    std::string_view first_line = state.substr(0, state.find('\n'));
    return fmt::format("sd_notify {} to NOTIFY_SOCKET={}", first_line, where);
  };
  // systemd also knows "vsock:" addresses (for virtual machines); a program on this host only
  // ever gets a path or an abstract name.
  if (where.front() != '/' && where.front() != '@') {
    return fail(EAFNOSUPPORT, context() + ": not an absolute path or an @abstract name");
  }
  auto address = Address::parse(fmt::format("unix:{}", where));
  if (!address) return fail(EINVAL, context() + ": " + address.error().context());
  auto socket = Fd::socket(AF_UNIX, SOCK_DGRAM);
  if (!socket) return fail(socket.error().code(), context() + ": socket");
  // Non-blocking on purpose: the caller is usually a loop thread, and a receiver that does not
  // read must not stall it. A full queue comes back as EAGAIN for the caller to log.
  ssize_t n;
  do {
    n = ::sendto(socket->get(), state.data(), state.size(), MSG_NOSIGNAL, address->data(),
                 address->size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return fail_errno(context());
  return {};
}

std::optional<std::uint64_t> sd_watchdog_enabled() {
  auto number = [](const char* text) -> std::optional<std::uint64_t> {
    if (text == nullptr || *text == '\0') return std::nullopt;
    std::string_view v(text);
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || end != v.data() + v.size()) return std::nullopt;
    return n;
  };
  auto usec = number(std::getenv("WATCHDOG_USEC"));
  if (!usec || *usec == 0) return std::nullopt;
  if (const char* pid = std::getenv("WATCHDOG_PID"); pid != nullptr && *pid != '\0') {
    // Meant for another process (a parent's, leaked to its children): not ours to ping.
    auto p = number(pid);
    if (!p || *p != static_cast<std::uint64_t>(::getpid())) return std::nullopt;
  }
  return usec;
}

}  // namespace herd
