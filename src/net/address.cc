#include "herd/net/address.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>

namespace herd {
namespace {

// sun_path holds 108 bytes; a path needs its terminating NUL, an abstract name its leading NUL.
constexpr std::size_t kSunPathSize = sizeof(sockaddr_un::sun_path);
constexpr std::size_t kMaxUnixPath = kSunPathSize - 1;
constexpr std::size_t kMaxAbstractName = kSunPathSize - 2;
constexpr socklen_t kSunPathOffset = offsetof(sockaddr_un, sun_path);

std::unexpected<Error> bad(std::string_view text, std::string_view why) {
  return fail(EINVAL, fmt::format("address \"{}\": {}", text, why));
}

// Digits only, 0..65535. Leading zeros are accepted ("08080" is 8080), as getaddrinfo does.
Result<std::uint16_t> parse_port(std::string_view text, std::string_view port) {
  if (port.empty()) return bad(text, "missing port after ':'");
  if (!std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return bad(text, fmt::format("port \"{}\" is not a number", port));
  }
  std::uint32_t value = 0;
  for (char c : port) {
    value = value * 10 + static_cast<std::uint32_t>(c - '0');
    if (value > 65535) return bad(text, "port must be 0..65535");
  }
  return static_cast<std::uint16_t>(value);
}

Result<Address> make_unix(std::string_view text, std::string_view path) {
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  if (path.empty()) return bad(text, "empty Unix socket path");
  if (path.find('\0') != std::string_view::npos) {
    return bad(text, "a Unix socket path cannot contain a NUL byte");
  }
  socklen_t len;
  if (path.front() == '@') {
    std::string_view name = path.substr(1);
    if (name.empty()) return bad(text, "empty abstract socket name after '@'");
    if (name.size() > kMaxAbstractName) {
      return bad(text, fmt::format("abstract socket name is {} bytes, at most {} fit", name.size(),
                                   kMaxAbstractName));
    }
    // sun_path[0] stays NUL: that is what makes the name abstract.
    std::memcpy(sun.sun_path + 1, name.data(), name.size());
    len = kSunPathOffset + 1 + static_cast<socklen_t>(name.size());
  } else {
    if (path.size() > kMaxUnixPath) {
      return bad(text, fmt::format("Unix socket path is {} bytes, at most {} fit", path.size(),
                                   kMaxUnixPath));
    }
    std::memcpy(sun.sun_path, path.data(), path.size());
    len = kSunPathOffset + static_cast<socklen_t>(path.size()) + 1;
  }
  return Address::from_sockaddr(reinterpret_cast<const sockaddr*>(&sun), len);
}

Result<Address> make_ipv4(std::string_view text, std::string_view host, std::uint16_t port) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  if (host.empty()) {
    sin.sin_addr.s_addr = htonl(INADDR_ANY);
  } else if (host == "localhost") {
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  } else {
    // inet_pton needs a NUL-terminated string; an IPv4 literal is at most 15 characters.
    std::string h(host);
    if (::inet_pton(AF_INET, h.c_str(), &sin.sin_addr) != 1) {
      return bad(text, fmt::format("\"{}\" is not an IPv4 address (host names are not looked up; "
                                   "use an IP address or localhost)",
                                   host));
    }
  }
  return Address::from_sockaddr(reinterpret_cast<const sockaddr*>(&sin), sizeof(sin));
}

Result<Address> make_ipv6(std::string_view text, std::string_view host, std::uint16_t port) {
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(port);
  if (host.find('%') != std::string_view::npos) {
    return bad(text, "IPv6 scope ids (\"%eth0\") are not supported");
  }
  std::string h(host);
  if (::inet_pton(AF_INET6, h.c_str(), &sin6.sin6_addr) != 1) {
    return bad(text, fmt::format("\"{}\" is not an IPv6 address", host));
  }
  return Address::from_sockaddr(reinterpret_cast<const sockaddr*>(&sin6), sizeof(sin6));
}

}  // namespace

Result<Address> Address::parse(std::string_view text) {
  if (text.empty()) return bad(text, "empty address");
  if (text.starts_with("unix:")) return make_unix(text, text.substr(5));
  if (text.starts_with('/') || text.starts_with("./")) return make_unix(text, text);

  if (text.starts_with('[')) {
    std::size_t close = text.find(']');
    if (close == std::string_view::npos) return bad(text, "missing ']' after the IPv6 address");
    std::string_view host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (rest.empty()) return bad(text, "missing port (write [host]:port)");
    if (rest.front() != ':') return bad(text, "expected ':' and a port after ']'");
    auto port = parse_port(text, rest.substr(1));
    if (!port) return std::unexpected(port.error());
    return make_ipv6(text, host, *port);
  }

  std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    // A lone number is a port on every IPv4 interface; anything else lacks its port.
    if (std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      auto port = parse_port(text, text);
      if (!port) return std::unexpected(port.error());
      return make_ipv4(text, {}, *port);
    }
    return bad(text, "missing port (write host:port, :port or a Unix path)");
  }
  std::string_view host = text.substr(0, colon);
  if (host.find(':') != std::string_view::npos) {
    return bad(text, "an IPv6 address needs brackets, as in [::1]:8080");
  }
  auto port = parse_port(text, text.substr(colon + 1));
  if (!port) return std::unexpected(port.error());
  return make_ipv4(text, host, *port);
}

Address Address::from_sockaddr(const sockaddr* sa, socklen_t len) {
  Address a;
  len = std::min<socklen_t>(len, sizeof(a.storage_));
  std::memcpy(&a.storage_, sa, len);
  a.len_ = len;
  return a;
}

Result<Address> Address::local_of(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) {
    return fail_errno(fmt::format("getsockname fd {}", fd));
  }
  return from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), len);
}

Result<Address> Address::peer_of(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) {
    return fail_errno(fmt::format("getpeername fd {}", fd));
  }
  return from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), len);
}

std::uint16_t Address::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  if (family() == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  }
  return 0;
}

std::string Address::unix_path() const {
  if (family() != AF_UNIX || len_ <= kSunPathOffset) return {};
  const auto* sun = reinterpret_cast<const sockaddr_un*>(&storage_);
  if (sun->sun_path[0] == '\0') return {};
  // The kernel may or may not count the terminating NUL; stop at the first one.
  std::size_t max = len_ - kSunPathOffset;
  return std::string(sun->sun_path, ::strnlen(sun->sun_path, max));
}

Address Address::with_port(std::uint16_t port) const {
  Address a = *this;
  if (family() == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&a.storage_)->sin_port = htons(port);
  } else if (family() == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(&a.storage_)->sin6_port = htons(port);
  }
  return a;
}

std::string Address::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  switch (family()) {
    case AF_INET: {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(&storage_);
      ::inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf));
      return fmt::format("{}:{}", buf, port());
    }
    case AF_INET6: {
      const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&storage_);
      ::inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof(buf));
      return fmt::format("[{}]:{}", buf, port());
    }
    case AF_UNIX: {
      const auto* sun = reinterpret_cast<const sockaddr_un*>(&storage_);
      if (len_ <= kSunPathOffset) return "unix:";
      if (sun->sun_path[0] == '\0') {
        return fmt::format("unix:@{}",
                           std::string_view(sun->sun_path + 1, len_ - kSunPathOffset - 1));
      }
      return "unix:" + unix_path();
    }
    case AF_UNSPEC:
      return "(none)";
    default:
      return fmt::format("(address family {})", family());
  }
}

bool Address::operator==(const Address& other) const {
  if (family() != other.family()) return false;
  switch (family()) {
    case AF_INET: {
      const auto* a = reinterpret_cast<const sockaddr_in*>(&storage_);
      const auto* b = reinterpret_cast<const sockaddr_in*>(&other.storage_);
      return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
    }
    case AF_INET6: {
      const auto* a = reinterpret_cast<const sockaddr_in6*>(&storage_);
      const auto* b = reinterpret_cast<const sockaddr_in6*>(&other.storage_);
      return a->sin6_port == b->sin6_port && a->sin6_scope_id == b->sin6_scope_id &&
             std::memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(in6_addr)) == 0;
    }
    case AF_UNIX: {
      const auto* a = reinterpret_cast<const sockaddr_un*>(&storage_);
      const auto* b = reinterpret_cast<const sockaddr_un*>(&other.storage_);
      bool a_abstract = len_ > kSunPathOffset && a->sun_path[0] == '\0';
      bool b_abstract = other.len_ > kSunPathOffset && b->sun_path[0] == '\0';
      if (a_abstract != b_abstract) return false;
      if (a_abstract) {
        return len_ == other.len_ &&
               std::memcmp(a->sun_path, b->sun_path, len_ - kSunPathOffset) == 0;
      }
      // Paths: the kernel's length may include the NUL or not, so compare the strings.
      return unix_path() == other.unix_path();
    }
    default:
      return len_ == other.len_ && std::memcmp(&storage_, &other.storage_, len_) == 0;
  }
}

}  // namespace herd
