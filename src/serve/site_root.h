// SiteRoot: the folder `herd serve` serves, and the one way it opens what is inside.
//
// Whatever the relative path (request_path.h already refused "..", NUL and the like), what is
// opened lies inside the root's real location: a symbolic link is followed only when its
// target is inside the root too, through a symlinked folder or not.
//  - openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) from the root's descriptor (Linux 5.6): the
//    kernel refuses, during the lookup itself, every step that would leave the root. It also
//    refuses an absolute link (EXDEV) even when it points back inside: that case, like a kernel
//    without openat2 (ENOSYS), goes to the second way.
//  - openat(O_PATH), which follows links but opens nothing for reading (no side effect of opening
//    a device or a FIFO), then the real location of that descriptor (/proc/self/fd) compared with
//    the root's real path, then a reopen of the same descriptor for reading. The check is made on
//    the file actually opened, so no rename between check and use can slip another file in.
// Only regular files are opened for reading; a folder is reported as such; anything else (a
// FIFO, a socket, a device) is ENOENT, as if it were not there.
//
// Threads: one at a time (the serving loop's).
#pragma once

#include <sys/stat.h>

#include <string>
#include <string_view>

#include "herd/base/error.h"
#include "herd/base/fd.h"

namespace herd::serve {

class SiteRoot {
 public:
  // `path`: a folder (relative to the working directory, or absolute). ENOTDIR when it is no
  // folder, the system's error when it cannot be opened.
  static Result<SiteRoot> open(const std::string& path);

  struct Entry {
    bool folder = false;
    Fd file;  // a regular file, open for reading; none for a folder
    struct stat st = {};
  };
  // `relative`: a resolve_request_path() result ("" is the root). Errors: ENOENT (missing, or
  // not a regular file nor a folder; ENOTDIR, ENAMETOOLONG and ELOOP also mean "not there"),
  // EXDEV (it is really outside the root), EACCES, or another errno for a failure to report.
  Result<Entry> open_entry(std::string_view relative) const;

  // The root's real path (realpath at open()).
  const std::string& real_path() const { return real_; }

  // Tests: every lookup takes the second way, as on a kernel without openat2.
  void use_openat2_for_testing(bool on) { openat2_ = on; }

 private:
  SiteRoot(Fd dir, std::string real) : dir_(std::move(dir)), real_(std::move(real)) {}
  Result<Entry> open_checked(const std::string& path) const;
  bool beneath(std::string_view where) const;

  Fd dir_;  // O_PATH | O_DIRECTORY
  std::string real_;
  mutable bool openat2_ = true;  // false once the kernel said ENOSYS
};

}  // namespace herd::serve
