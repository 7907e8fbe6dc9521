// Address: a socket address (IPv4, IPv6 or a Unix path), parsed from the text people write.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "herd/base/error.h"

namespace herd {

class Address {
 public:
  // An empty address (family AF_UNSPEC, size 0); only useful as a placeholder.
  Address() = default;

  // Accepted forms (no DNS lookups are made):
  //   "127.0.0.1:8080", "0.0.0.0:80", "[::1]:8080", "[::]:80", "localhost:8080" (127.0.0.1),
  //   ":8080" or "8080" (all IPv4 interfaces, 0.0.0.0), "unix:/run/app.sock" or any text that
  //   starts with '/' or "./" (a Unix socket path; at most 107 bytes), "unix:@name" (a Linux
  //   abstract socket: no file; at most 106 bytes of name).
  // Errors are EINVAL with a message that quotes the text and says what is wrong
  // ("address \"1.2.3.4:99999\": port must be 0..65535").
  static Result<Address> parse(std::string_view text);
  // From a kernel-filled sockaddr (accept, getsockname). `len` larger than sockaddr_storage is
  // truncated.
  static Address from_sockaddr(const sockaddr* sa, socklen_t len);
  // The local address a socket is bound to.
  static Result<Address> local_of(int fd);
  static Result<Address> peer_of(int fd);

  int family() const { return storage_.ss_family; }
  bool is_unix() const { return family() == AF_UNIX; }
  const sockaddr* data() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t size() const { return len_; }
  // The port for IP addresses; 0 for Unix paths.
  std::uint16_t port() const;
  // For Unix addresses: the file path ("" for abstract and unnamed sockets); "" otherwise.
  std::string unix_path() const;
  // A copy of an IP address with another port (a Unix address is returned unchanged).
  Address with_port(std::uint16_t port) const;
  // "127.0.0.1:8080", "[::1]:8080", "unix:/path", "unix:@name" (abstract), "unix:" (unnamed).
  // The text of a parsed address parses back to an equal Address.
  std::string to_string() const;

  // Same family, address and port (IPv6: and scope id), or same Unix path/name.
  bool operator==(const Address& other) const;

 private:
  sockaddr_storage storage_{};
  socklen_t len_ = 0;
};

}  // namespace herd
