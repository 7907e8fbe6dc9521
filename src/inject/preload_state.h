/* What the three parts of libherd-inject.so share: bind_preload.c (bind, listen and the channel
 * to herd), blocking_accept.c (each process's own blocking wish on a socket herd gave it) and
 * unlink_guard.c (unlink of the socket files herd holds). Internal to the library: everything
 * here is hidden, nothing is exported but what the files mark HERD_EXPORT.
 */
#ifndef HERD_INJECT_PRELOAD_STATE_H
#define HERD_INJECT_PRELOAD_STATE_H

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>

#define HERD_EXPORT __attribute__((visibility("default")))
#define HERD_HIDDEN __attribute__((visibility("hidden")))

/* Guards the channel and the table of held sockets. */
HERD_HIDDEN extern pthread_mutex_t herd_lock;

/* By descriptor number, for the sockets herd gave this process: 1 = held, and the program wants
 * it blocking (2) or not (1). Checked before anything else, so other descriptors cost one load. */
#define HERD_MAX_FD 4096
HERD_HIDDEN extern unsigned char herd_fd_wish[HERD_MAX_FD];
enum { HERD_WISH_NONE = 0, HERD_WISH_NONBLOCKING = 1, HERD_WISH_BLOCKING = 2 };

/* The accept counter herd passed (bind_protocol.h), mapped once by the constructor; NULL
 * without one. A child forked by the program shares the mapping, so its accepts count too. */
struct herd_accept_page;
HERD_HIDDEN extern struct herd_accept_page* herd_accepts;
/* Adds one accepted connection to the counter, if there is one. */
HERD_HIDDEN void herd_count_accept(void);

/* Whether this process is the one herd injected, with a working channel to herd. */
HERD_HIDDEN int herd_inject_active(void);
/* Whether herd holds a socket at `path` (relative to `dirfd`) for this app: one round trip on
 * the channel, under herd_lock. 0 when it does not, or cannot be asked. */
HERD_HIDDEN int herd_holds_path(int dirfd, const char* path);

/* Whether `fd` is one of the sockets herd gave this process (by identity); under herd_lock. */
HERD_HIDDEN int is_held_locked(int fd);

/* libc's fcntl, passed the argument as glibc's own wrapper does. */
HERD_HIDDEN int real_fcntl(int fd, int cmd, void* arg);

/* The next definition of `name` after this library's (libc's), looked up once into `*slot`;
 * NULL, with errno ENOSYS, when there is none. */
static inline void* next_symbol(void** slot, const char* name) {
  if (*slot == NULL) *slot = dlsym(RTLD_NEXT, name);
  if (*slot == NULL) errno = ENOSYS;
  return *slot;
}

#endif /* HERD_INJECT_PRELOAD_STATE_H */
