#include "herd/base/fd.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace herd {

void Fd::reset(int fd) noexcept {
  if (fd_ >= 0) {
    // Linux always releases the descriptor, even when close() reports EINTR: retrying could
    // close a descriptor another thread has just been given.
    ::close(fd_);
  }
  fd_ = fd;
}

Result<Fd> Fd::dup() const {
  int fd = ::fcntl(fd_, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return fail_errno(fmt::format("dup fd {}", fd_));
  return Fd(fd);
}

Result<Fd> Fd::socket(int domain, int type, int protocol) {
  int fd = ::socket(domain, type | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol);
  if (fd < 0) return fail_errno("socket");
  return Fd(fd);
}

Result<std::pair<Fd, Fd>> Fd::socketpair(int domain, int type, int protocol) {
  int fds[2];
  if (::socketpair(domain, type | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol, fds) < 0) {
    return fail_errno("socketpair");
  }
  return std::pair<Fd, Fd>(Fd(fds[0]), Fd(fds[1]));
}

Result<Fd> Fd::accept(int listen_fd, sockaddr* addr, socklen_t* len) {
  int fd;
  do {
    fd = ::accept4(listen_fd, addr, len, SOCK_CLOEXEC | SOCK_NONBLOCK);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return fail_errno("accept");
  return Fd(fd);
}

Result<std::pair<Fd, Fd>> Fd::pipe(int flags) {
  int fds[2];
  if (::pipe2(fds, flags | O_CLOEXEC) < 0) return fail_errno("pipe");
  return std::pair<Fd, Fd>(Fd(fds[0]), Fd(fds[1]));
}

Result<Fd> Fd::open(const char* path, int flags, unsigned mode) {
  int fd;
  do {
    fd = ::open(path, flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return fail_errno(fmt::format("open {}", path));
  return Fd(fd);
}

Result<Fd> Fd::eventfd(unsigned initial) {
  int fd = ::eventfd(initial, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) return fail_errno("eventfd");
  return Fd(fd);
}

Result<Fd> Fd::epoll() {
  int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) return fail_errno("epoll_create1");
  return Fd(fd);
}

Result<Fd> Fd::signalfd(const sigset_t& mask) {
  int fd = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0) return fail_errno("signalfd");
  return Fd(fd);
}

Status set_nonblocking(int fd, bool on) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return fail_errno(fmt::format("fcntl F_GETFL fd {}", fd));
  int wanted = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  if (wanted != flags && ::fcntl(fd, F_SETFL, wanted) < 0) {
    return fail_errno(fmt::format("fcntl F_SETFL fd {}", fd));
  }
  return {};
}

ssize_t send_with_descriptor(int socket, const void* data, std::size_t size, int passed,
                             int flags) {
  iovec iov{const_cast<void*>(data), size};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (passed >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &passed, sizeof(int));
  }
  ssize_t n;
  do {
    n = ::sendmsg(socket, &msg, flags | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n;
}

}  // namespace herd
