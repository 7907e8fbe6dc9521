#include "daemon/state_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "herd/base/fd.h"

namespace herd::manager {
namespace {

Status write_all(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("write " + what);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

enum class Sync { kDurable, kNone };

Status replace_file(const std::string& path, std::string_view content, bool keep_backup,
                    Sync sync) {
  std::string tmp = path + ".tmp";
  // A temp file left by a crash is removed, and the new one created: O_EXCL and O_NOFOLLOW, so
  // a symlink or a file planted at that name is never written through.
  if (::unlink(tmp.c_str()) < 0 && errno != ENOENT) return fail_errno("remove " + tmp);
  {
    auto fd = Fd::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
    if (!fd) return std::unexpected(fd.error());
    if (Status s = write_all(fd->get(), content, tmp); !s) {
      ::unlink(tmp.c_str());
      return s;
    }
    if (sync == Sync::kDurable && ::fsync(fd->get()) < 0) {
      Error e = Error::from_errno("fsync " + tmp);
      ::unlink(tmp.c_str());
      return std::unexpected(e);
    }
  }
  if (keep_backup) {
    // The current file becomes .bak without a moment when no .bak exists: a hard link to it
    // under a temporary name, renamed over the old .bak (rename replaces atomically).
    std::string bak = path + ".bak";
    std::string bak_tmp = bak + ".tmp";
    ::unlink(bak_tmp.c_str());
    if (::link(path.c_str(), bak_tmp.c_str()) == 0) {
      if (::rename(bak_tmp.c_str(), bak.c_str()) < 0) {
        Error e = Error::from_errno("keep backup " + bak);
        ::unlink(bak_tmp.c_str());
        ::unlink(tmp.c_str());
        return std::unexpected(e);
      }
    } else if (errno != ENOENT) {
      Error e = Error::from_errno("keep backup " + bak);
      ::unlink(tmp.c_str());
      return std::unexpected(e);
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) < 0) {
    Error e = Error::from_errno("rename " + tmp + " to " + path);
    ::unlink(tmp.c_str());
    return std::unexpected(e);
  }
  if (sync == Sync::kNone) return {};
  std::string dir = dir_of(path);
  if (auto d = Fd::open(dir.c_str(), O_RDONLY | O_DIRECTORY); d) ::fsync(d->get());
  return {};
}

}  // namespace

Status write_file_atomic(const std::string& path, std::string_view content, bool keep_backup) {
  return replace_file(path, content, keep_backup, Sync::kDurable);
}

Status write_file_replace(const std::string& path, std::string_view content) {
  return replace_file(path, content, false, Sync::kNone);
}

Result<std::string> read_file(const std::string& path) {
  auto fd = Fd::open(path.c_str(), O_RDONLY | O_NOFOLLOW);
  if (!fd) return std::unexpected(fd.error());
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd->get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("read " + path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

std::optional<FileId> file_id(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) < 0) return std::nullopt;
  return FileId{st.st_dev, st.st_ino};
}

void unlink_if_same(const std::string& path, const std::optional<FileId>& id) {
  if (id && file_id(path) == id) ::unlink(path.c_str());
}

}  // namespace herd::manager
