#include "serve/site_root.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <string>

namespace herd::serve {
namespace {

// How a file is opened for reading: O_NONBLOCK so that a FIFO cannot hold the loop (it is
// refused right after), O_NOCTTY so that a terminal never becomes ours.
constexpr int kReadFlags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;

std::string proc_fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

// What an opened descriptor is: a folder, a regular file (kept for reading), or not served.
Result<SiteRoot::Entry> classify(Fd fd, std::string_view what) {
  SiteRoot::Entry e;
  if (::fstat(fd.get(), &e.st) != 0) return fail_errno(std::string(what));
  if (S_ISDIR(e.st.st_mode)) {
    e.folder = true;
  } else if (S_ISREG(e.st.st_mode)) {
    e.file = std::move(fd);
  } else {
    return fail(ENOENT, std::string(what) + ": not a regular file");
  }
  return e;
}

}  // namespace

Result<SiteRoot> SiteRoot::open(const std::string& path) {
  char real[PATH_MAX];
  if (::realpath(path.c_str(), real) == nullptr) return fail_errno(path);
  int fd = ::open(real, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail_errno(path);
  return SiteRoot(Fd(fd), real);
}

bool SiteRoot::beneath(std::string_view where) const {
  if (real_ == "/") return !where.empty() && where[0] == '/';
  return where.starts_with(real_) && (where.size() == real_.size() || where[real_.size()] == '/');
}

Result<SiteRoot::Entry> SiteRoot::open_entry(std::string_view relative) const {
  std::string path = relative.empty() ? "." : std::string(relative);
  if (openat2_) {
    open_how how{};
    how.flags = kReadFlags;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    long fd = ::syscall(SYS_openat2, dir_.get(), path.c_str(), &how, sizeof(how));
    if (fd >= 0) return classify(Fd(static_cast<int>(fd)), path);
    int err = errno;
    if (err == ENOSYS) {
      openat2_ = false;
    } else if (err != EXDEV) {
      return fail(err, path);
    }
    // EXDEV: an absolute link, or one that leaves the root; the second way tells them apart.
  }
  return open_checked(path);
}

Result<SiteRoot::Entry> SiteRoot::open_checked(const std::string& path) const {
  int raw = ::openat(dir_.get(), path.c_str(), O_PATH | O_CLOEXEC);
  if (raw < 0) return fail_errno(path);
  Fd located(raw);
  char where[PATH_MAX];
  ssize_t n = ::readlink(proc_fd_path(located.get()).c_str(), where, sizeof(where) - 1);
  // Without /proc nothing can be checked: refused.
  if (n < 0) return fail(EACCES, path + ": its location cannot be checked (no /proc)");
  if (!beneath(std::string_view(where, static_cast<std::size_t>(n)))) {
    return fail(EXDEV, path + ": outside the served folder");
  }
  struct stat st {};
  if (::fstat(located.get(), &st) != 0) return fail_errno(path);
  if (S_ISDIR(st.st_mode)) return Entry{true, Fd(), st};
  if (!S_ISREG(st.st_mode)) return fail(ENOENT, path + ": not a regular file");
  // The same file, now for reading: the magic link opens the descriptor's inode, not a path.
  int fd = ::open(proc_fd_path(located.get()).c_str(), kReadFlags);
  if (fd < 0) return fail_errno(path);
  return classify(Fd(fd), path);
}

}  // namespace herd::serve
