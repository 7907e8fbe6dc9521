/* libherd-inject.so's unlink() and unlinkat(): a program that removes its Unix socket path before
 * it binds (most do) must not remove the socket file herd holds there for the app, which every
 * instance shares (docs/cluster-mode.md). Only socket files are asked about (herd_holds_path(),
 * bind_preload.c): other unlinks cost one fstatat, and none at all in a process herd did not
 * inject.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inject/preload_state.h"

typedef int (*unlinkat_fn)(int, const char*, int);

static int real_unlinkat(int dirfd, const char* path, int flags) {
  static void* slot;
  unlinkat_fn fn = (unlinkat_fn)next_symbol(&slot, "unlinkat");
  return fn != NULL ? fn(dirfd, path, flags) : -1;
}

#ifdef HERD_INJECT_TESTING
/* Called between the look at a path and the decision on it, so a test can change the file. */
void (*herd_inject_after_stat_for_test)(void);
#endif

/* What unlink() of a path does in an injected instance. */
enum herd_unlink_way {
  HERD_UNLINK_PLAIN, /* not herd's business: libc's unlink */
  HERD_UNLINK_SKIP,  /* a socket file herd holds for the app: left in place, 0 returned */
  HERD_UNLINK_ABSENT /* nothing there when looked at: ENOENT without touching the path */
};

/* Looks at `path` without following a symbolic link; 0, or -1 with errno. */
static int look_at(int dirfd, const char* path, struct stat* st) {
  int rc = fstatat(dirfd, path, st, AT_SYMLINK_NOFOLLOW);
#ifdef HERD_INJECT_TESTING
  int looked_errno = errno;
  if (herd_inject_after_stat_for_test != NULL) herd_inject_after_stat_for_test();
  errno = looked_errno;
#endif
  return rc;
}

/* How unlink() of `path` (relative to `dirfd`) is done. Only socket files are asked about, so
 * other unlinks cost one fstatat. Instances of an app start together, and one may bind the path
 * (through herd) while another is unlinking it before its own bind:
 *  - a path that does not exist is answered ENOENT at once, so a late unlink cannot take away
 *    the socket file herd has just made;
 *  - a socket file herd does not hold (a stale one) is looked at again after asking: when it was
 *    replaced meanwhile, herd is asked about the new one. */
static enum herd_unlink_way unlink_way(int dirfd, const char* path) {
  if (!herd_inject_active() || path == NULL) return HERD_UNLINK_PLAIN;
  struct stat st;
  if (look_at(dirfd, path, &st) < 0) {
    return errno == ENOENT ? HERD_UNLINK_ABSENT : HERD_UNLINK_PLAIN;
  }
  for (int round = 0; S_ISSOCK(st.st_mode) && round < 4; ++round) {
    if (herd_holds_path(dirfd, path)) return HERD_UNLINK_SKIP;
    struct stat again;
    if (look_at(dirfd, path, &again) < 0) {
      return errno == ENOENT ? HERD_UNLINK_ABSENT : HERD_UNLINK_PLAIN;
    }
    if (again.st_dev == st.st_dev && again.st_ino == st.st_ino) return HERD_UNLINK_PLAIN;
    st = again;
  }
  return HERD_UNLINK_PLAIN;
}

/* unlink()/unlinkat() of `path` done the way unlink_way() says. */
static int unlink_as_herd_wants(int dirfd, const char* path, int flags) {
  switch ((flags & AT_REMOVEDIR) != 0 ? HERD_UNLINK_PLAIN : unlink_way(dirfd, path)) {
    case HERD_UNLINK_SKIP:
      return 0;
    case HERD_UNLINK_ABSENT:
      errno = ENOENT;
      return -1;
    case HERD_UNLINK_PLAIN:
      break;
  }
  return real_unlinkat(dirfd, path, flags);
}

HERD_EXPORT int unlinkat(int dirfd, const char* path, int flags) {
  return unlink_as_herd_wants(dirfd, path, flags);
}

HERD_EXPORT int unlink(const char* path) { return unlink_as_herd_wants(AT_FDCWD, path, 0); }
