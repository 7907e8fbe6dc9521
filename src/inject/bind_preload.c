/* libherd-inject.so: what herd puts (LD_PRELOAD) into the instances of an app in cluster mode, so
 * that a program nobody changed for herd gets herd's listening socket when it binds its port.
 *
 * bind() of a TCP socket to a port other than 0, or of a Unix stream socket to a path, becomes a
 * request to herd over the bind channel (bind_protocol.h); herd's socket then takes the place of
 * the program's own descriptor (same number, the program's O_NONBLOCK and FD_CLOEXEC kept).
 * listen() on such a socket tells herd the instance is ready and leaves herd's backlog alone;
 * unlink() of a socket file herd holds for the app is skipped (unlink_guard.c).
 *
 * herd's socket is shared by herd and every instance, so it stays non-blocking while each process
 * keeps its own blocking wish for it: fcntl(), ioctl(FIONBIO), accept() and accept4() are
 * interposed as well (blocking_accept.c says why and how).
 * Everything else goes straight to libc: port 0, UDP, client sockets, and every call in a process
 * that is not the one herd spawned (or the program its /bin/sh wrapper started), so an app's own
 * children are left alone. A channel that is missing, closed or not what herd passed makes every
 * call a plain one; so does any failure to talk to herd (said once on stderr).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "inject/bind_protocol.h"
#include "inject/preload_state.h"

/* How long a call waits for herd's answer before binding on its own. */
#define HERD_REPLY_TIMEOUT_MS 10000
#define HERD_MAX_HELD 64

typedef int (*bind_fn)(int, const struct sockaddr*, socklen_t);
typedef int (*listen_fn)(int, int);

pthread_mutex_t herd_lock = PTHREAD_MUTEX_INITIALIZER;
/* -1: inactive (or given up), 1: active. Decided once, in the constructor. */
static int herd_state = -1;
static int herd_channel = -1;
/* The process the decision was made in: a child forked without exec inherits the state (and the
 * channel) but is not the program herd means, and must not interleave its requests with ours. */
static pid_t herd_pid;
/* The sockets herd gave this process, by identity (a descriptor number may be reused). */
static struct {
  dev_t dev;
  ino_t ino;
} herd_held[HERD_MAX_HELD];
static int herd_held_count;
/* HERD_HEALTH_PORT: the port this instance alone listens on for its health check
 * (docs/health-checks.md). Never shared: bound by the program itself. 0 = none. */
static int herd_health_port;
struct herd_accept_page* herd_accepts;

void herd_count_accept(void) {
  if (herd_accepts != NULL) __atomic_fetch_add(&herd_accepts->accepted, 1, __ATOMIC_RELAXED);
}

static int real_bind(int fd, const struct sockaddr* addr, socklen_t len) {
  static void* slot;
  bind_fn fn = (bind_fn)next_symbol(&slot, "bind");
  return fn != NULL ? fn(fd, addr, len) : -1;
}

static int real_listen(int fd, int backlog) {
  static void* slot;
  listen_fn fn = (listen_fn)next_symbol(&slot, "listen");
  return fn != NULL ? fn(fd, backlog) : -1;
}

static void say(const char* what) {
  char line[512];
  int n = snprintf(line, sizeof(line), "herd-inject[%d]: %s\n", (int)getpid(), what);
  if (n > 0) {
    ssize_t r = write(2, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
    (void)r;
  }
}

/* A strict decimal number in [min, INT_MAX]; -1 when `text` is not one. */
static long parse_number(const char* text, long min) {
  if (text == NULL || *text < '0' || *text > '9') return -1;
  char* end = NULL;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (errno != 0 || *end != '\0' || v < min || v > INT_MAX) return -1;
  return v;
}

/* Whether `pid` runs a shell: the program a shell wrapper (`/bin/sh -c "cmd"`) starts is the one
 * herd means, though it is the shell herd spawned. */
static int is_shell(pid_t pid) {
  char link[64], exe[PATH_MAX];
  snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
  ssize_t n = readlink(link, exe, sizeof(exe) - 1);
  if (n <= 0) return 0;
  exe[n] = '\0';
  const char* base = strrchr(exe, '/');
  base = base != NULL ? base + 1 : exe;
  static const char* const shells[] = {"sh", "dash", "bash", "zsh", "ksh", "mksh", "busybox"};
  for (size_t i = 0; i < sizeof(shells) / sizeof(shells[0]); ++i) {
    if (strcmp(base, shells[i]) == 0) return 1;
  }
  return 0;
}

/* The channel herd passed: a connected AF_UNIX SOCK_SEQPACKET socket. */
static int is_channel(int fd) {
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode)) return 0;
  int value = 0;
  socklen_t len = sizeof(value);
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &value, &len) < 0 || value != SOCK_SEQPACKET) return 0;
  len = sizeof(value);
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &value, &len) < 0 || value != AF_UNIX) return 0;
  return 1;
}

/* Maps the accept counter named by HERD_ACCEPT_FD: only a regular file (herd's memfd) of exactly
 * one page that starts with herd's magic, so that a stray variable never makes the library write
 * into a file of the program's. The descriptor stays open for a wrapper's exec'd program. */
static void map_accept_counter(void) {
  long fd = parse_number(getenv(HERD_ACCEPT_FD_ENV), 3);
  struct stat st;
  if (fd < 0 || fstat((int)fd, &st) < 0 || !S_ISREG(st.st_mode) ||
      st.st_size != HERD_ACCEPT_PAGE_SIZE) {
    return;
  }
  void* page = mmap(NULL, HERD_ACCEPT_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, (int)fd, 0);
  if (page == MAP_FAILED) return;
  struct herd_accept_page* p = (struct herd_accept_page*)page;
  if (__atomic_load_n(&p->magic, __ATOMIC_RELAXED) != HERD_ACCEPT_MAGIC) {
    munmap(page, HERD_ACCEPT_PAGE_SIZE);
    return;
  }
  herd_accepts = p;
}

/* Decides, once, whether this process takes herd's sockets. */
static void herd_inject_init(void) {
  const char* fd_text = getenv(HERD_BIND_FD_ENV);
  if (fd_text == NULL) return;
  long fd = parse_number(fd_text, 3);
  long pid = parse_number(getenv(HERD_BIND_PID_ENV), 1);
  if (fd < 0 || pid < 0) {
    say("HERD_BIND_FD/HERD_BIND_PID are malformed; binding as usual");
    return;
  }
  pid_t self = getpid();
  int wrapper_child = getppid() == (pid_t)pid && is_shell((pid_t)pid);
  if (self != (pid_t)pid && !wrapper_child) return; /* a child of the app: not ours to change */
  if (!is_channel((int)fd)) {
    say("HERD_BIND_FD is not herd's channel; binding as usual");
    return;
  }
  /* The channel stays inheritable: wrappers that exec the program (a pyenv shim, `nice`, `env`)
   * must pass it on, and the program's own children are kept out by the pid rule above. */
  herd_channel = (int)fd;
  long health = parse_number(getenv("HERD_HEALTH_PORT"), 1);
  herd_health_port = health > 0 && health <= 65535 ? (int)health : 0;
  herd_pid = self;
  herd_state = 1;
  if (herd_accepts == NULL) map_accept_counter();
}

int herd_inject_active(void) { return herd_state == 1 && getpid() == herd_pid; }

__attribute__((constructor)) static void herd_inject_constructor(void) { herd_inject_init(); }

#ifdef HERD_INJECT_TESTING
/* Tests compile this file into their own binary: they set the environment, then call this. */
void herd_inject_reset_for_test(void) {
  herd_state = -1;
  herd_channel = -1;
  herd_held_count = 0;
  if (herd_accepts != NULL) munmap(herd_accepts, HERD_ACCEPT_PAGE_SIZE);
  herd_accepts = NULL;
  herd_inject_init();
}
#endif

/* Sends `req` and reads the reply (and the descriptor it carries, if any) under herd_lock.
 * Returns 0 with *reply filled, or -1 when the channel failed (then this process stops asking). */
static int exchange(struct herd_bind_request* req, struct herd_bind_reply* reply, int* passed) {
  *passed = -1;
  req->magic = HERD_BIND_MAGIC;
  req->version = HERD_BIND_VERSION;
  req->reserved = 0;
  ssize_t n;
  do {
    n = send(herd_channel, req, sizeof(*req), MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n != (ssize_t)sizeof(*req)) return -1;

  struct pollfd p = {herd_channel, POLLIN, 0};
  int ready;
  do {
    ready = poll(&p, 1, HERD_REPLY_TIMEOUT_MS);
  } while (ready < 0 && errno == EINTR);
  if (ready <= 0) return -1;

  char control[CMSG_SPACE(sizeof(int))];
  memset(control, 0, sizeof(control));
  struct iovec iov = {reply, sizeof(*reply)};
  struct msghdr msg;
  memset(&msg, 0, sizeof(msg));
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  do {
    n = recvmsg(herd_channel, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
        c->cmsg_len == CMSG_LEN(sizeof(int))) {
      memcpy(passed, CMSG_DATA(c), sizeof(int));
    }
  }
  if (n != (ssize_t)sizeof(*reply) || reply->magic != HERD_BIND_MAGIC ||
      (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
    if (*passed >= 0) close(*passed);
    *passed = -1;
    return -1;
  }
  return 0;
}

/* After a failed exchange: stop asking (a half-read reply would desynchronise the channel). */
static void give_up(const char* why) {
  herd_state = -1;
  char line[256];
  snprintf(line, sizeof(line), "the channel to herd failed (%s); binding as usual from now on",
           why);
  say(line);
}

int is_held_locked(int fd) {
  struct stat st;
  if (fstat(fd, &st) < 0) return 0;
  for (int i = 0; i < herd_held_count; ++i) {
    if (herd_held[i].dev == st.st_dev && herd_held[i].ino == st.st_ino) return 1;
  }
  return 0;
}

/* What herd takes over: a TCP port other than 0, or a Unix stream socket's path (made absolute).
 * Fills req->addr; 0 when the call is not for herd. */
static int wanted(int fd, const struct sockaddr* addr, socklen_t len,
                  struct herd_bind_request* req) {
  if (addr == NULL || len < sizeof(sa_family_t) || len > sizeof(req->addr)) return 0;
  int type = 0, domain = 0;
  socklen_t olen = sizeof(type);
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &olen) < 0 || type != SOCK_STREAM) return 0;
  olen = sizeof(domain);
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &olen) < 0 || domain != addr->sa_family) {
    return 0;
  }
  memset(&req->addr, 0, sizeof(req->addr));
  req->v6only = -1;
  if (domain == AF_INET) {
    if (len < sizeof(struct sockaddr_in)) return 0;
    const struct sockaddr_in* in = (const struct sockaddr_in*)addr;
    if (in->sin_port == 0 || ntohs(in->sin_port) == herd_health_port) return 0;
    memcpy(&req->addr, in, sizeof(*in));
    req->addr_len = sizeof(*in);
    return 1;
  }
  if (domain == AF_INET6) {
    if (len < sizeof(struct sockaddr_in6)) return 0;
    const struct sockaddr_in6* in6 = (const struct sockaddr_in6*)addr;
    if (in6->sin6_port == 0 || ntohs(in6->sin6_port) == herd_health_port) return 0;
    memcpy(&req->addr, in6, sizeof(*in6));
    req->addr_len = sizeof(*in6);
    int v6only = 0;
    olen = sizeof(v6only);
    if (getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &olen) < 0) return 0;
    req->v6only = v6only != 0;
    return 1;
  }
  if (domain == AF_UNIX) {
    const struct sockaddr_un* un = (const struct sockaddr_un*)addr;
    size_t max = len - offsetof(struct sockaddr_un, sun_path);
    if (len <= offsetof(struct sockaddr_un, sun_path) || un->sun_path[0] == '\0') return 0;
    size_t plen = strnlen(un->sun_path, max);
    struct sockaddr_un* out = (struct sockaddr_un*)&req->addr;
    out->sun_family = AF_UNIX;
    size_t at = 0;
    if (un->sun_path[0] != '/') {
      if (getcwd(out->sun_path, sizeof(out->sun_path)) == NULL) return 0;
      at = strlen(out->sun_path);
      if (at + 1 >= sizeof(out->sun_path)) return 0;
      out->sun_path[at++] = '/';
    }
    if (at + plen >= sizeof(out->sun_path)) return 0;
    memcpy(out->sun_path + at, un->sun_path, plen);
    out->sun_path[at + plen] = '\0';
    req->addr_len = (uint32_t)(offsetof(struct sockaddr_un, sun_path) + at + plen + 1);
    return 1;
  }
  return 0;
}

HERD_EXPORT int bind(int fd, const struct sockaddr* addr, socklen_t len) {
  if (!herd_inject_active()) return real_bind(fd, addr, len);
  struct herd_bind_request req;
  memset(&req, 0, sizeof(req));
  if (!wanted(fd, addr, len, &req)) return real_bind(fd, addr, len);
  req.op = HERD_BIND_OP_BIND;

  int saved_errno = errno;
  pthread_mutex_lock(&herd_lock);
  if (herd_state != 1) {
    pthread_mutex_unlock(&herd_lock);
    return real_bind(fd, addr, len);
  }
  struct herd_bind_reply reply;
  int given = -1;
  if (exchange(&req, &reply, &given) < 0) {
    give_up("no answer to a bind");
    pthread_mutex_unlock(&herd_lock);
    errno = saved_errno;
    return real_bind(fd, addr, len);
  }
  if (reply.error != 0) {
    pthread_mutex_unlock(&herd_lock);
    errno = reply.error;
    return -1;
  }
  if (given < 0) {
    give_up("a bind answer without a socket");
    pthread_mutex_unlock(&herd_lock);
    errno = saved_errno;
    return real_bind(fd, addr, len);
  }
  /* herd's socket takes the program's descriptor number, with the program's flags. */
  int status_flags = real_fcntl(fd, F_GETFL, NULL);
  int fd_flags = real_fcntl(fd, F_GETFD, NULL);
  if (status_flags < 0 || fd_flags < 0 ||
      dup3(given, fd, (fd_flags & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
    int err = errno;
    close(given);
    pthread_mutex_unlock(&herd_lock);
    errno = err;
    return -1;
  }
  close(given);
  /* The shared socket stays non-blocking; the program's choice is kept for it alone. */
  int now = real_fcntl(fd, F_GETFL, NULL);
  if (now >= 0) real_fcntl(fd, F_SETFL, (void*)(long)(now | O_NONBLOCK));
  if (fd >= 0 && fd < HERD_MAX_FD) {
    herd_fd_wish[fd] = (status_flags & O_NONBLOCK) ? HERD_WISH_NONBLOCKING : HERD_WISH_BLOCKING;
  }
  struct stat st;
  if (fstat(fd, &st) == 0 && herd_held_count < HERD_MAX_HELD) {
    herd_held[herd_held_count].dev = st.st_dev;
    herd_held[herd_held_count].ino = st.st_ino;
    ++herd_held_count;
  }
  pthread_mutex_unlock(&herd_lock);
  errno = saved_errno;
  return 0;
}

HERD_EXPORT int listen(int fd, int backlog) {
  if (!herd_inject_active()) return real_listen(fd, backlog);
  pthread_mutex_lock(&herd_lock);
  if (herd_state != 1 || !is_held_locked(fd)) {
    pthread_mutex_unlock(&herd_lock);
    return real_listen(fd, backlog);
  }
  /* Already listening with herd's backlog, shared by every instance: a program's small backlog
   * (Python's socketserver asks for 5) must not shrink it. */
  int saved_errno = errno;
  struct herd_bind_request req;
  memset(&req, 0, sizeof(req));
  req.op = HERD_BIND_OP_LISTENING;
  req.v6only = -1;
  req.backlog = backlog;
  socklen_t alen = sizeof(req.addr);
  if (getsockname(fd, (struct sockaddr*)&req.addr, &alen) == 0 && alen <= sizeof(req.addr)) {
    req.addr_len = alen;
  }
  struct herd_bind_reply reply;
  int given = -1;
  if (exchange(&req, &reply, &given) < 0) give_up("no answer to listen");
  if (given >= 0) close(given);
  pthread_mutex_unlock(&herd_lock);
  errno = saved_errno;
  return 0;
}

/* Whether herd holds a socket at `path` (relative to `dirfd`) for this app: one round trip. */
int herd_holds_path(int dirfd, const char* path) {
  struct herd_bind_request req;
  memset(&req, 0, sizeof(req));
  req.op = HERD_BIND_OP_HELD_PATH;
  req.v6only = -1;
  struct sockaddr_un* un = (struct sockaddr_un*)&req.addr;
  un->sun_family = AF_UNIX;
  size_t at = 0;
  if (path[0] != '/') {
    if (dirfd != AT_FDCWD) return 0; /* rare; such paths are not resolved here */
    if (getcwd(un->sun_path, sizeof(un->sun_path)) == NULL) return 0;
    at = strlen(un->sun_path);
    if (at + 1 >= sizeof(un->sun_path)) return 0;
    un->sun_path[at++] = '/';
  }
  size_t plen = strlen(path);
  if (at + plen >= sizeof(un->sun_path)) return 0;
  memcpy(un->sun_path + at, path, plen + 1);
  req.addr_len = (uint32_t)(offsetof(struct sockaddr_un, sun_path) + at + plen + 1);

  int saved_errno = errno;
  pthread_mutex_lock(&herd_lock);
  int held = 0;
  if (herd_state == 1) {
    struct herd_bind_reply reply;
    int given = -1;
    if (exchange(&req, &reply, &given) < 0) {
      give_up("no answer about a socket file");
    } else {
      held = reply.error == 0;
    }
    if (given >= 0) close(given);
  }
  pthread_mutex_unlock(&herd_lock);
  errno = saved_errno;
  return held;
}
