// Socket activation (systemd's LISTEN_FDS protocol) and readiness notification (sd_notify).
//
// herd in cluster mode, and systemd, start a program with listening sockets already open at
// descriptors 3, 4, ... and LISTEN_FDS=<count>, LISTEN_PID=<its pid>, LISTEN_FDNAMES=a:b:...
// A libherd server takes the one meant for it instead of binding, so one binary runs alone,
// under herd or under systemd unchanged.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "herd/base/error.h"
#include "herd/base/fd.h"
#include "herd/net/address.h"

namespace herd {

struct InheritedSocket {
  int fd;            // 3, 4, ...
  std::string name;  // from LISTEN_FDNAMES ("" when not given)
};

// The sockets passed to this process: empty unless LISTEN_PID is this process's pid and
// LISTEN_FDS is a valid count (sd_listen_fds()'s rules). Parsed once, on first use, from any
// thread; every descriptor is then marked CLOEXEC so it does not leak further. Malformed values
// (LISTEN_FDS or LISTEN_PID not a positive decimal number, LISTEN_FDS without LISTEN_PID, a
// descriptor in the range that is not open) are logged once as a warning and nothing is taken;
// a LISTEN_PID of another process is only a debug line (the variables leaked from a parent).
// A LISTEN_FDNAMES whose count differs from LISTEN_FDS is logged and its names are dropped.
const std::vector<InheritedSocket>& inherited_sockets();

// Takes (at most once) the inherited listening socket for `address`. When `name` is given, only
// the socket of that name matches. Otherwise a Unix socket matches by path or abstract name, and
// an IP socket by port: the hosts must be equal, or either one a wildcard (0.0.0.0 or [::], of
// either family), so a program that asks for 0.0.0.0:8080 takes the 127.0.0.1:8080 it was given;
// a port of 0 in `address` matches any port. The caller owns the returned descriptor. nullopt
// when none matches. Thread-safe.
std::optional<Fd> take_inherited_socket(const Address& address, std::string_view name = {});

// For a program that was not told which address to listen on: the address of the one socket it
// inherited, when exactly one was passed and is not taken yet (so `herd start server
// --listen 127.0.0.1:9000` works without also telling the server the port); else `fallback`.
// Thread-safe.
Address default_listen_address(const Address& fallback);

// Sends `state` ("READY=1", "STOPPING=1", "STATUS=...", several joined by '\n') as one datagram
// to $NOTIFY_SOCKET (an absolute path, or '@' for the abstract namespace), byte for byte what
// libsystemd's sd_notify(0, state) sends. Succeeds doing nothing when NOTIFY_SOCKET is unset or
// empty. Never blocks: a receiver whose queue is full gives EAGAIN. Errors name the state and
// the socket; EAFNOSUPPORT for a NOTIFY_SOCKET that is neither a path nor '@' (e.g. "vsock:").
// Thread-safe.
Status sd_notify(std::string_view state);

// libsystemd's sd_watchdog_enabled(): the watchdog interval in microseconds when this process is
// to send WATCHDOG=1 (WATCHDOG_USEC a positive number, and WATCHDOG_PID unset or this process's
// pid), else nullopt. A malformed value counts as not enabled. Reads the environment on every
// call. Thread-safe.
std::optional<std::uint64_t> sd_watchdog_enabled();

}  // namespace herd
