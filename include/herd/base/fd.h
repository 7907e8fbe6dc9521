// Fd: the one owner of a file descriptor. Move-only; closes on destruction.
//
// Every descriptor libherd creates goes through a factory here, one per system call, and each
// factory sets O_CLOEXEC atomically (and O_NONBLOCK for sockets, eventfds, signalfds and the
// accept()ed connections), so no descriptor leaks into an exec'd child and no loop blocks on one.
#pragma once

#include <signal.h>
#include <sys/socket.h>

#include <utility>

#include "herd/base/error.h"

namespace herd {

class Fd {
 public:
  Fd() noexcept = default;
  // Takes ownership of `fd` (-1 for none).
  explicit Fd(int fd) noexcept : fd_(fd) {}
  ~Fd() { reset(); }

  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  explicit operator bool() const noexcept { return valid(); }

  // Gives up ownership without closing.
  int release() noexcept { return std::exchange(fd_, -1); }
  // Closes the current descriptor (if any; EINTR is not retried, as on Linux the fd is gone)
  // and takes ownership of `fd`.
  void reset(int fd = -1) noexcept;

  // A duplicate with FD_CLOEXEC set (F_DUPFD_CLOEXEC).
  Result<Fd> dup() const;

  // --- factories: one per system call -------------------------------------------------------
  // socket(2) with SOCK_CLOEXEC | SOCK_NONBLOCK.
  static Result<Fd> socket(int domain, int type, int protocol = 0);
  // socketpair(2) with SOCK_CLOEXEC | SOCK_NONBLOCK on both ends.
  static Result<std::pair<Fd, Fd>> socketpair(int domain, int type, int protocol = 0);
  // accept4(2) with SOCK_CLOEXEC | SOCK_NONBLOCK. `addr`/`len` may be null.
  static Result<Fd> accept(int listen_fd, sockaddr* addr = nullptr, socklen_t* len = nullptr);
  // pipe2(2) with O_CLOEXEC plus `flags` (e.g. O_NONBLOCK). Returns {read end, write end}.
  static Result<std::pair<Fd, Fd>> pipe(int flags = 0);
  // open(2) with O_CLOEXEC.
  static Result<Fd> open(const char* path, int flags, unsigned mode = 0);
  // eventfd(2) with EFD_CLOEXEC | EFD_NONBLOCK.
  static Result<Fd> eventfd(unsigned initial = 0);
  // epoll_create1(2) with EPOLL_CLOEXEC.
  static Result<Fd> epoll();
  // signalfd(2) with SFD_CLOEXEC | SFD_NONBLOCK.
  static Result<Fd> signalfd(const sigset_t& mask);

 private:
  int fd_ = -1;
};

// Sets or clears O_NONBLOCK on a descriptor libherd did not create (an inherited socket, say).
Status set_nonblocking(int fd, bool on);

// sendmsg(2) of `size` bytes on a Unix socket, with `passed` as SCM_RIGHTS when it is >= 0
// (the receiver gets its own copy). `flags` are sendmsg's (MSG_NOSIGNAL is added). Retries on
// EINTR; returns what sendmsg returned (-1 with errno set on failure).
ssize_t send_with_descriptor(int socket, const void* data, std::size_t size, int passed,
                             int flags = 0);

}  // namespace herd
