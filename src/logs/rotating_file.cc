#include "logs/rotating_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <optional>

#include "herd/base/log.h"

namespace herd::manager {

namespace {

// mkdir -p of the folder that holds `file`, each missing folder made with `mode` (the umask
// applies, as with PM2's fs.mkdirSync). Fails with the first folder that could not be made.
Status make_parent_dirs(const std::string& file, unsigned mode) {
  auto slash = file.rfind('/');
  if (slash == std::string::npos || slash == 0) return {};
  std::string dir = file.substr(0, slash);
  for (std::size_t at = 1; at <= dir.size(); ++at) {
    if (at != dir.size() && dir[at] != '/') continue;
    std::string part = dir.substr(0, at);
    if (::mkdir(part.c_str(), mode) < 0 && errno != EEXIST) {
      return fail_errno(fmt::format("create folder {} for the log {}", part, file));
    }
  }
  return {};
}

}  // namespace

Error RotatingFile::no_follow_error(const Error& e) const {
  if (e.code() != ELOOP) return e;
  return Error(ELOOP, fmt::format("{} is a symbolic link, which herd does not follow for a log "
                                  "(remove it, or give the real path)",
                                  path_));
}

RotatingFile::RotatingFile(std::string path, Options options)
    : path_(std::move(path)), options_(options) {
  if (options_.max_size == 0) options_.max_size = 1;
  if (options_.max_files == 0) options_.max_files = 1;
}

std::string RotatingFile::rotated_path(unsigned index) const {
  if (index == 0) return path_;
  return fmt::format("{}.{}", path_, index);
}

Status RotatingFile::open() {
  if (fd_) return {};
  auto st = ensure_open();
  if (!st) fail(st.error(), 0);
  return st;
}

Status RotatingFile::ensure_open() {
  if (fd_) return {};
  // O_NOFOLLOW: a symlink planted at the log's path (by another user, in a shared directory)
  // must not redirect the daemon's writes to a file of its choosing.
  constexpr int kFlags = O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW;
  auto fd = Fd::open(path_.c_str(), kFlags, options_.mode);
  if (!fd && fd.error().code() == ENOENT && options_.dir_mode != 0) {
    // A log in a folder that does not exist yet (-o /var/log/app/out.log): made, as PM2 does.
    if (Status st = make_parent_dirs(path_, options_.dir_mode); !st) return st;
    fd = Fd::open(path_.c_str(), kFlags, options_.mode);
  }
  if (!fd) return std::unexpected(no_follow_error(fd.error()));
  struct stat st;
  if (::fstat(fd->get(), &st) < 0) return fail_errno(fmt::format("fstat {}", path_));
  // /dev/null, /dev/full, a FIFO or a tty: renaming or truncating them would be wrong (as root,
  // renaming /dev/full would even succeed), and their st_size means nothing.
  regular_ = S_ISREG(st.st_mode);
  size_ = regular_ ? static_cast<std::uint64_t>(st.st_size) : 0;
  fd_ = std::move(*fd);
  return {};
}

Status RotatingFile::write_all(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd_.get(), data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno(fmt::format("write {}", path_));
    }
    // A short write to a regular file means the disk filled up mid-way; the loop's next write
    // then reports ENOSPC. Track what did land, so size_ and the torn-line mark stay true.
    size_ += static_cast<std::uint64_t>(n);
    ends_mid_line_ = data[static_cast<std::size_t>(n) - 1] != '\n';
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

Status RotatingFile::write(std::string_view data) {
  if (data.empty()) return {};
  if (failing_ && std::chrono::steady_clock::now() < retry_at_) {
    dropped_ += data.size();
    dropped_in_outage_ += data.size();
    return std::unexpected(last_error_.value_or(Error(EIO, fmt::format("write {}", path_))));
  }
  if (auto st = ensure_open(); !st) {
    fail(st.error(), data.size());
    return st;
  }
  // After an outage that cut a line, end it first, so the next line starts on its own line
  // and readers (tail_lines, grep) see whole lines again. A full file needs no mark: it is
  // rotated before the next byte, and the new file starts clean.
  if (torn_line_ && size_ > 0 && (!regular_ || size_ < options_.max_size)) {
    if (auto st = write_all("\n"); !st) {
      fail(st.error(), data.size());
      return st;
    }
  }
  torn_line_ = false;

  while (!data.empty()) {
    std::uint64_t room = options_.max_size > size_ ? options_.max_size - size_ : 0;
    if (!regular_ || data.size() <= room) {
      std::size_t before = data.size();
      std::uint64_t size_before = size_;
      if (auto st = write_all(data); !st) {
        fail(st.error(), before - (size_ - size_before));
        return st;
      }
      break;
    }
    // The data does not fit: fill this file up to its last line end that fits, then rotate.
    // Only a line longer than a whole file is cut, at max_size.
    std::size_t take = 0;
    if (room > 0) {
      std::size_t nl = data.rfind('\n', static_cast<std::size_t>(room) - 1);
      if (nl != std::string_view::npos) take = nl + 1;
    }
    if (take == 0 && size_ == 0) take = static_cast<std::size_t>(room);
    if (take > 0) {
      std::uint64_t size_before = size_;
      if (auto st = write_all(data.substr(0, take)); !st) {
        fail(st.error(), data.size() - (size_ - size_before));
        return st;
      }
      data.remove_prefix(take);
    }
    if (auto st = rotate(); !st) {
      fail(st.error(), data.size());
      return st;
    }
  }

  if (failing_) {
    if (!on_error_) {
      log_info("log {}: writing again after dropping {} bytes", path_, dropped_in_outage_);
    }
    failing_ = false;
    dropped_in_outage_ = 0;
    last_error_.reset();
  }
  return {};
}

Status RotatingFile::rotate() {
  ++rotations_;
  if (options_.max_files == 1) {
    // No rotated files are kept: the one file starts over.
    if (::ftruncate(fd_.get(), 0) < 0) return fail_errno(fmt::format("truncate {}", path_));
    size_ = 0;
    ends_mid_line_ = false;
    return {};
  }
  fd_.reset();
  // Shift from the oldest down; rename() replaces path.<max_files-1>, which drops the oldest.
  // A missing file in the chain (fewer rotations so far, or a user's rm) is not an error.
  for (unsigned i = options_.max_files - 1; i >= 1; --i) {
    std::string from = rotated_path(i - 1);
    std::string to = rotated_path(i);
    if (::rename(from.c_str(), to.c_str()) < 0 && errno != ENOENT) {
      return fail_errno(fmt::format("rotate {} to {}", from, to));
    }
  }
  size_ = 0;
  ends_mid_line_ = false;
  return ensure_open();
}

Status RotatingFile::flush() {
  struct stat st;
  // lstat: a symlink at the path is not ours to truncate through.
  if (::lstat(path_.c_str(), &st) < 0) {
    if (errno != ENOENT) return fail_errno(fmt::format("stat {}", path_));
  } else if (S_ISLNK(st.st_mode)) {
    return std::unexpected(no_follow_error(Error(ELOOP, fmt::format("truncate {}", path_))));
  } else if (!S_ISREG(st.st_mode)) {
    return {};
  }
  std::optional<Error> first;
  if (fd_ && regular_) {
    // O_APPEND puts the next write at the new end, offset 0: no reopen needed.
    if (::ftruncate(fd_.get(), 0) < 0) first = Error::from_errno(fmt::format("truncate {}", path_));
  } else if (!fd_) {
    auto fd = Fd::open(path_.c_str(), O_WRONLY | O_NOFOLLOW);
    if (!fd && fd.error().code() != ENOENT) {
      first = no_follow_error(fd.error());
    } else if (fd && ::ftruncate(fd->get(), 0) < 0) {
      first = Error::from_errno(fmt::format("truncate {}", path_));
    }
  }
  if (!first) {
    size_ = 0;
    torn_line_ = false;
    ends_mid_line_ = false;
  }
  // Rotated files: every index up to max_files - 1, and beyond it as long as files exist (left
  // over from a larger max_files).
  for (unsigned i = 1;; ++i) {
    std::string rotated = rotated_path(i);
    if (::unlink(rotated.c_str()) < 0) {
      if (errno != ENOENT && !first) first = Error::from_errno(fmt::format("remove {}", rotated));
      if (i >= options_.max_files - 1) break;
    }
  }
  if (first) return std::unexpected(*first);
  return {};
}

void RotatingFile::close() { fd_.reset(); }

Status RotatingFile::reopen() {
  if (!fd_) return {};
  fd_.reset();
  return open();
}

void RotatingFile::fail(const Error& error, std::uint64_t dropped) {
  dropped_ += dropped;
  dropped_in_outage_ += dropped;
  // Closing lets the retry re-open the path: that also recovers from a file removed or a
  // filesystem remounted meanwhile, not just from a disk that was full.
  fd_.reset();
  retry_at_ =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.retry_interval_ms);
  last_error_ = error;
  torn_line_ = torn_line_ || ends_mid_line_;
  if (failing_) return;
  failing_ = true;
  if (on_error_) {
    on_error_(error);
  } else {
    log_warn("log {}: {}; dropping output until it can be written again", path_, error.message());
  }
}

}  // namespace herd::manager
