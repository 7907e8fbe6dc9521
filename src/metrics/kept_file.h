// KeptFile: a small file the kernel generates at each read (/proc/<pid>/stat, a cgroup's
// memory.usage_in_bytes), read again and again by the once-a-second sampler. The file is opened
// once (O_RDONLY | O_CLOEXEC) and each read is one pread(2) at offset 0, which makes the kernel
// generate the content anew: no path lookup, open or close per sample (at 1,000 instances those
// were most of the daemon's idle CPU).
//
// A kept /proc/<pid>/stat descriptor stays bound to the process it was opened for: once that
// process is gone its reads fail (ESRCH), even when the pid is given to another process.
//
// Descriptors are a budget: every KeptFile of the process shares one count, at most a quarter of
// the soft RLIMIT_NOFILE by default (the rest is the daemon's pipes, sockets and spawns). A file
// that would go over it is opened, read and closed at each read instead, as before, and says so
// with kept() == false. Descriptors are CLOEXEC, so an exec (a spawn, `herd update`) keeps none;
// a KeptFile opens its file again at the first read after it is made, never earlier.
//
// Threads: one KeptFile is used by one thread at a time; the budget is shared safely.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "herd/base/fd.h"

namespace herd::manager {

class KeptFile {
 public:
  KeptFile() = default;
  explicit KeptFile(std::string path) : path_(std::move(path)) {}
  ~KeptFile() { close(); }
  KeptFile(KeptFile&& other) noexcept;
  KeptFile& operator=(KeptFile&& other) noexcept;
  KeptFile(const KeptFile&) = delete;
  KeptFile& operator=(const KeptFile&) = delete;

  // The file's content from its start, at most size - 1 bytes, NUL-terminated in `buf`: the
  // length read, or -1 with errno set (the file cannot be opened, or the read failed: for a kept
  // /proc/<pid>/stat, the process is gone). A descriptor whose read failed is closed.
  ssize_t read(char* buf, std::size_t size);
  // Closes the descriptor (the next read opens the file again).
  void close();

  const std::string& path() const { return path_; }
  // Whether a descriptor is held now.
  bool kept() const { return fd_.valid(); }

  // The process-wide budget of kept descriptors (set by tests, or a daemon that knows better),
  // and the count held now.
  static void set_budget(std::size_t descriptors);
  static std::size_t budget();
  static std::size_t held();

 private:
  std::string path_;
  Fd fd_;
};

}  // namespace herd::manager
