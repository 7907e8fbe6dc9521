// Listener: a listening TCP or Unix socket that accepts connections on the loop.
//
// Each readiness event accepts in a loop until EAGAIN (bounded per event so one busy listener
// cannot starve the rest of the loop). When the process runs out of descriptors (EMFILE/ENFILE)
// the listener neither spins nor leaves the connection queued forever: it frees a reserve
// descriptor, accepts and closes the pending connections, and re-opens the reserve (libuv's
// trick), with a warning in the log at most every 10 seconds. If the reserve cannot be re-opened,
// or accept fails in a way that retrying at once would not fix (ENOBUFS, ENOMEM, ...), accepting
// pauses for 100 ms instead of spinning.
//
// Active (keeps the loop running) from listen()/adopt() until pause() or close().
// Threads: every method must be called on the loop's thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "herd/base/fd.h"
#include "herd/loop/io_watcher.h"
#include "herd/loop/timer.h"
#include "herd/net/address.h"

namespace herd {

struct ListenOptions {
  int backlog = 511;
  bool reuse_port = false;  // SO_REUSEPORT
  bool ipv6_only = false;   // IPV6_V6ONLY for "[::]" addresses (set either way, whatever the
                            // system default)
};

// How an adopted socket is accepted from (for sockets shared by several processes).
struct AcceptOptions {
  // Watch the socket with EPOLLEXCLUSIVE, so a new connection wakes one of the processes that
  // share it instead of all of them.
  bool exclusive = false;
  // Connections accepted per readiness event (1..64). 1 spreads connections across processes
  // that share a socket (nginx's `multi_accept off`); 64 empties the queue of a busy listener
  // with fewer wake-ups.
  int max_accepts_per_event = 64;
};

class Listener : public Handle {
 public:
  // Receives each accepted connection (CLOEXEC | NONBLOCK); the callback owns it. An accept
  // error other than the transient ones (EAGAIN, ECONNABORTED, EINTR, EMFILE handled as above)
  // is logged.
  using ConnectionCallback = std::move_only_function<void(Fd connection)>;

  explicit Listener(EventLoop& loop);
  ~Listener();

  // Binds (SO_REUSEADDR for TCP; a stale Unix socket file is replaced only if nothing listens on
  // it, and a file that is not a socket never is), listens and starts accepting. Errors name the
  // address ("bind 127.0.0.1:80: ..."). EINVAL if this listener already has a socket or is
  // closing. A Unix socket file created here is removed on close() or destruction (if it is
  // still the same file).
  Status listen(const Address& address, ConnectionCallback cb, const ListenOptions& options = {});
  // Takes an already bound and listening socket (inherited through LISTEN_FDS, say), makes it
  // non-blocking and starts accepting. EINVAL if `socket` is not a listening socket; then the
  // descriptor is closed. `options` says how to accept from a socket other processes share.
  Status adopt(Fd socket, ConnectionCallback cb, const AcceptOptions& options = {});

  // Stops and resumes accepting without closing the socket (queued connections wait).
  // resume() fails with EINVAL when there is no socket (never listened, or closing).
  void pause();
  Status resume();
  // Accepts every connection waiting in the socket's queue now (up to a bound), each given to
  // the connection callback as a readable event would: before a graceful close, so that the
  // connections the kernel already completed are served instead of reset when the socket
  // closes (a socket shared with other processes keeps queueing until the last one closes it).
  // Nothing while paused or without a socket.
  void accept_pending();

  // The bound address (with the kernel-chosen port after binding port 0).
  Result<Address> local_address() const;
  int fd() const { return fd_.get(); }

 protected:
  void on_close_requested() override;

 private:
  void on_readable();
  // The EMFILE dance; returns false when it could not make progress (no reserve).
  bool drop_pending_connections(const Error& error);
  void back_off();
  void warn_dropped(const Error& error);
  Status start_accepting(ConnectionCallback cb);
  void stop_accepting();
  void remove_unix_file();

  Fd fd_;
  Fd reserve_;                        // a spare descriptor for the EMFILE dance
  std::optional<IoWatcher> watcher_;  // exists once there is a socket; unreferenced
  Timer backoff_;                     // resumes accepting after a pause forced by errors
  ConnectionCallback cb_;
  bool accepting_ = false;      // wanted by the user (listen/adopt/resume vs pause)
  bool exclusive_ = false;      // AcceptOptions::exclusive
  int max_accepts_ = 64;        // AcceptOptions::max_accepts_per_event
  std::string unix_path_;       // the socket file we created, removed on close
  std::uint64_t unix_dev_ = 0;  // its identity, so a replaced file is left alone
  std::uint64_t unix_ino_ = 0;
  std::string name_;                   // the address, for errors and the log
  std::uint64_t last_warning_ms_ = 0;  // rate limit of the EMFILE warning
  std::uint64_t dropped_ = 0;          // connections dropped since the last warning
  bool warned_ = false;
};

}  // namespace herd
