// Socket activation (systemd's LISTEN_FDS protocol) and readiness notification (sd_notify).
//
// herd in cluster mode, and systemd, start a program with listening sockets already open at
// descriptors 3, 4, ... and LISTEN_FDS=<count>, LISTEN_PID=<its pid>, LISTEN_FDNAMES=a:b:...
// A libherd server takes the one meant for it instead of binding, so one binary runs alone,
// under herd or under systemd unchanged.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "herd/address.h"
#include "herd/error.h"
#include "herd/fd.h"

namespace herd {

struct InheritedSocket {
  int fd;            // 3, 4, ...
  std::string name;  // from LISTEN_FDNAMES ("" when not given)
};

// The sockets passed to this process: empty unless LISTEN_PID is this process's pid and
// LISTEN_FDS is a valid count. Parsed once; every descriptor is marked CLOEXEC so it does not
// leak further. Malformed variables are logged once and ignored.
const std::vector<InheritedSocket>& inherited_sockets();

// Takes (at most once) the inherited listening socket for `address`: the one whose name equals
// `name` when given, else the one whose bound address equals `address` (a wildcard port 0
// matches any port on that host). nullopt when none matches.
std::optional<Fd> take_inherited_socket(const Address& address, std::string_view name = {});

// Sends `state` ("READY=1", "STOPPING=1", "STATUS=...") to $NOTIFY_SOCKET (a datagram Unix
// socket; '@' means the abstract namespace). Succeeds doing nothing when NOTIFY_SOCKET is unset.
Status sd_notify(std::string_view state);

}  // namespace herd
