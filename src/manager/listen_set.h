// ListenSet: the listening sockets herd binds for an app in cluster mode and holds for the app's
// whole life. Every instance gets them by socket activation (LISTEN_FDS), so connections that
// arrive while an instance restarts wait in the kernel's queue instead of being refused.
#pragma once

#include <string>
#include <vector>

#include "herd/address.h"
#include "herd/error.h"
#include "herd/fd.h"

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

  bool empty() const { return fds_.empty(); }
  std::vector<int> fds() const;
  // Names for LISTEN_FDNAMES (no ':' allowed there): "listen0", "listen1", ...
  std::vector<std::string> names() const;
  // The addresses as bound (with the kernel's port for ":0").
  const std::vector<Address>& addresses() const { return addresses_; }

 private:
  std::vector<Fd> fds_;
  std::vector<Address> addresses_;
  std::vector<std::string> unix_paths_;
};

}  // namespace herd::manager
