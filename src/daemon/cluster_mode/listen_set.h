// ListenSet: the listening sockets herd holds for an app in cluster mode, for the app's whole
// life. Two kinds:
//  - the app's `listen` addresses, bound before its first instance starts and passed to every
//    instance by socket activation (LISTEN_FDS);
//  - sockets bound on demand, the first time an instance binds that address itself (an
//    unmodified program under herd's bind library, src/inject/), and handed to every instance
//    that binds it after.
// Either way connections that arrive while an instance restarts wait in the kernel's queue
// instead of being refused.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "herd/base/error.h"
#include "herd/base/fd.h"
#include "herd/net/address.h"

namespace herd::manager {

class ListenSet {
 public:
  ListenSet() = default;
  ListenSet(ListenSet&&) = default;
  ListenSet& operator=(ListenSet&&) = default;
  // Closes the sockets and removes the Unix socket files it created.
  ~ListenSet();

  // Binds and listens on every address ("0.0.0.0:8080", ":8080", "[::]:80", "/run/app.sock").
  // All or nothing: on an error, what was bound is closed again and the error names the address.
  static Result<ListenSet> bind(const std::vector<std::string>& addresses, int backlog = 511);

  // The socket for a program's bind() of `wanted` (an IP address with a port other than 0, or
  // an absolute Unix path); `v6only` is the program's IPV6_V6ONLY for IPv6 (-1 otherwise). The
  // socket already held for that address when there is one: the same address (and for IPv6 the
  // same v6only), or, when the program asks for a wildcard, a wildcard of the other family that
  // herd holds for the same port (`listen: [":3000"]` and a Node program binding `[::]:3000`),
  // or a dual-stack `[::]` for `0.0.0.0`. Otherwise herd binds it now and holds it until
  // release_on_demand(). The result stays owned by the set. Errors are the errno the program's
  // own bind() would have got (EADDRINUSE, EACCES, EADDRNOTAVAIL, ...).
  Result<int> acquire(const Address& wanted, int v6only, int backlog = 511);
  // Whether a socket herd holds is bound at `path` (a Unix socket file).
  bool holds_unix_path(std::string_view path) const;
  // Closes the sockets bound on demand (after `stop` of every instance, or `delete`), so their
  // ports are free again; the `listen` addresses stay.
  void release_on_demand();

  // Closes herd's copy of every socket (the daemon is stopping): once the instances have closed
  // theirs as they stop, new connections are refused at once instead of waiting in a queue no
  // one will accept from. The set is empty afterwards.
  void close_all();
  // Whether there are `listen` addresses (bound by bind()).
  bool has_static() const;
  // The `listen` sockets, for LISTEN_FDS, and their names for LISTEN_FDNAMES ("listen0", ...).
  std::vector<int> fds() const;
  std::vector<std::string> names() const;
  // Every address held, as bound (with the kernel's port for ":0"): `listen` ones first.
  std::vector<Address> addresses() const;

  // `herd update` (takeover.h): the sockets as JSON, their descriptors appended to `keep`; and
  // the set rebuilt from that in the new daemon, owning the same descriptors.
  nlohmann::json takeover_state(std::vector<int>* keep) const;
  static Result<ListenSet> adopt(const nlohmann::json& state);

 private:
  struct Held {
    Fd fd;
    Address address;  // as bound
    int v6only = -1;
    bool on_demand = false;
    std::string unix_path;  // a socket file herd created: removed when closed
  };
  static Result<Held> bind_one(const Address& address, int v6only, int backlog);
  void close_held(Held& held);

  std::vector<Held> held_;
};

}  // namespace herd::manager
