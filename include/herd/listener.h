// Listener: a listening TCP or Unix socket that accepts connections on the loop.
//
// Each readiness event accepts in a loop until EAGAIN (bounded per event so one busy listener
// cannot starve the rest of the loop). When the process runs out of descriptors (EMFILE/ENFILE)
// the listener neither spins nor leaves the connection queued forever: it frees a reserve
// descriptor, accepts and closes the pending connection, and re-opens the reserve (libuv's trick).
#pragma once

#include <functional>

#include "herd/address.h"
#include "herd/fd.h"
#include "herd/io_watcher.h"

namespace herd {

struct ListenOptions {
  int backlog = 511;
  bool reuse_port = false;  // SO_REUSEPORT
  bool ipv6_only = false;   // IPV6_V6ONLY for "[::]" addresses
};

class Listener : public Handle {
 public:
  // Receives each accepted connection (CLOEXEC | NONBLOCK). An accept error other than the
  // transient ones (EAGAIN, ECONNABORTED, EINTR, EMFILE handled as above) is logged.
  using ConnectionCallback = std::move_only_function<void(Fd connection)>;

  explicit Listener(EventLoop& loop);
  ~Listener();

  // Binds (SO_REUSEADDR for TCP; a stale Unix socket file is replaced only if nothing listens on
  // it), listens and starts accepting. Errors name the address ("bind 127.0.0.1:80: ...").
  Status listen(const Address& address, ConnectionCallback cb, const ListenOptions& options = {});
  // Takes an already bound and listening socket (inherited through LISTEN_FDS, say), makes it
  // non-blocking and starts accepting.
  Status adopt(Fd socket, ConnectionCallback cb);

  // Stops and resumes accepting without closing the socket (queued connections wait).
  void pause();
  Status resume();

  // The bound address (with the kernel-chosen port after binding port 0).
  Result<Address> local_address() const;
  int fd() const { return fd_.get(); }

 protected:
  void on_close_requested() override;

 private:
  void on_readable();
  Status start_accepting(ConnectionCallback cb);

  Fd fd_;
  Fd reserve_;  // a spare descriptor for the EMFILE dance
  IoWatcher watcher_;
  ConnectionCallback cb_;
  std::string unix_path_;  // unlinked on close when we created it
};

}  // namespace herd
