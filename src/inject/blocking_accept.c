/* libherd-inject.so, the blocking wish (bind_preload.c explains the library as a whole).
 *
 * A listening socket's O_NONBLOCK belongs to the socket, shared by herd and every instance, not
 * to a descriptor: one instance's choice would change the others' (a Node instance's accept
 * loop blocked by a blocking one; a blocking server's accept() failing with EAGAIN). So the
 * shared socket is always non-blocking, and each process keeps its own wish: fcntl(F_SETFL),
 * fcntl(F_GETFL) and ioctl(FIONBIO) on a socket herd gave it record and report that wish, and
 * accept()/accept4() on one it wants blocking wait in poll() for a connection another instance
 * did not take first. Only such sockets pay anything; a non-blocking program (Node) none.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "inject/bind_protocol.h"
#include "inject/preload_state.h"

typedef int (*fcntl_fn)(int, int, ...);
typedef int (*ioctl_fn)(int, unsigned long, ...);
typedef int (*accept4_fn)(int, struct sockaddr*, socklen_t*, int);

unsigned char herd_fd_wish[HERD_MAX_FD];

int real_fcntl(int fd, int cmd, void* arg) {
  static void* slot;
  fcntl_fn fn = (fcntl_fn)next_symbol(&slot, "fcntl");
  return fn != NULL ? fn(fd, cmd, arg) : -1;
}

static int real_ioctl(int fd, unsigned long request, void* arg) {
  static void* slot;
  ioctl_fn fn = (ioctl_fn)next_symbol(&slot, "ioctl");
  return fn != NULL ? fn(fd, request, arg) : -1;
}

static int real_accept4(int fd, struct sockaddr* addr, socklen_t* len, int flags) {
  static void* slot;
  accept4_fn fn = (accept4_fn)next_symbol(&slot, "accept4");
  return fn != NULL ? fn(fd, addr, len, flags) : -1;
}

/* Whether `fd` is a socket herd gave this process (its number may have been reused since). */
static int held_fd(int fd) {
  if (fd < 0 || fd >= HERD_MAX_FD || herd_fd_wish[fd] == HERD_WISH_NONE) return 0;
  pthread_mutex_lock(&herd_lock);
  int held = is_held_locked(fd);
  pthread_mutex_unlock(&herd_lock);
  if (!held) herd_fd_wish[fd] = HERD_WISH_NONE;
  return held;
}

/* fcntl and fcntl64 (the same function on 64-bit glibc; programs built with
 * _FILE_OFFSET_BITS=64 call the latter). The argument is passed on as glibc's own wrapper does. */
static int herd_fcntl(int fd, int cmd, void* arg) {
  if ((cmd == F_SETFL || cmd == F_GETFL) && held_fd(fd)) {
    if (cmd == F_SETFL) {
      long flags = (long)arg;
      herd_fd_wish[fd] = (flags & O_NONBLOCK) ? HERD_WISH_NONBLOCKING : HERD_WISH_BLOCKING;
      return real_fcntl(fd, F_SETFL, (void*)(flags | O_NONBLOCK));
    }
    int flags = real_fcntl(fd, F_GETFL, NULL);
    if (flags < 0) return flags;
    flags &= ~O_NONBLOCK;
    return herd_fd_wish[fd] == HERD_WISH_BLOCKING ? flags : flags | O_NONBLOCK;
  }
  return real_fcntl(fd, cmd, arg);
}

HERD_EXPORT int fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return herd_fcntl(fd, cmd, arg);
}

HERD_EXPORT int fcntl64(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return herd_fcntl(fd, cmd, arg);
}

HERD_EXPORT int ioctl(int fd, unsigned long request, ...) {
  va_list ap;
  va_start(ap, request);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  if (request == FIONBIO && arg != NULL && held_fd(fd)) {
    herd_fd_wish[fd] = *(const int*)arg ? HERD_WISH_NONBLOCKING : HERD_WISH_BLOCKING;
    return 0; /* the shared socket is non-blocking already */
  }
  return real_ioctl(fd, request, arg);
}

/* accept4 counts the connections it returns on a socket herd gave (the accept counter,
 * bind_protocol.h): one atomic add, and for a non-blocking program one identity check of the
 * listening socket per accepted connection, nothing per request.
 *
 * A blocking accept on the shared, non-blocking socket waits until a connection is there, and
 * again when another instance took it first. A signal ends the wait with EINTR, as it ends a
 * blocking accept() whose handler was installed without SA_RESTART. */
HERD_EXPORT int accept4(int fd, struct sockaddr* addr, socklen_t* len, int flags) {
  if (fd < 0 || fd >= HERD_MAX_FD || herd_fd_wish[fd] == HERD_WISH_NONE) {
    return real_accept4(fd, addr, len, flags);
  }
  if (herd_fd_wish[fd] != HERD_WISH_BLOCKING) {
    int c = real_accept4(fd, addr, len, flags);
    if (c >= 0 && herd_accepts != NULL) {
      int saved = errno;
      if (held_fd(fd)) herd_count_accept();
      errno = saved;
    }
    return c;
  }
  if (!held_fd(fd)) return real_accept4(fd, addr, len, flags);
  for (;;) {
    int c = real_accept4(fd, addr, len, flags);
    if (c >= 0) herd_count_accept();
    if (c >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return c;
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, -1) < 0) return -1;
  }
}

HERD_EXPORT int accept(int fd, struct sockaddr* addr, socklen_t* len) {
  return accept4(fd, addr, len, 0);
}
