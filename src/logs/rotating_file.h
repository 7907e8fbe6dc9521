// RotatingFile: an app's log file, bounded on disk by size-based rotation.
//
// Appends go to `path`. Before an append would take the file past `max_size` bytes, the files
// shift: path.<max_files-2> -> path.<max_files-1> (replacing it: the oldest is dropped), ...,
// path.1 -> path.2, path -> path.1, and a new empty `path` is started. So at most `max_files`
// files exist (the current one included), each at most `max_size` bytes: with the defaults,
// 10 MiB x 5 = 50 MiB per log, never more. Files are split at a line end whenever a line end
// fits; only a single line longer than max_size is cut in two.
//
// Failure: a failed open, write or rotation (ENOSPC, EIO, EACCES...) never throws and never
// blocks: the bytes that could not be written are counted in dropped_bytes(), the error callback
// runs once per outage (the first failure after a success), and the file is closed. Later
// appends re-open it, at most once per `retry_interval_ms` (the bytes offered in between are
// dropped and counted), so logging resumes by itself when space returns.
//
// A target that is not a regular file (/dev/null, /dev/full, a FIFO, a terminal) is written to
// but never rotated, truncated or renamed. A symlink at `path` is never followed (O_NOFOLLOW):
// opening it fails with ELOOP, reported like any open failure, and flush() leaves it alone.
//
// One RotatingFile per path: two objects on the same path would rotate under each other. Apps
// that share a file (merge_logs, the combined log_file) share one object (see OutputPipe).
// The file is only rotated and truncated by this object; a file renamed or truncated behind its
// back keeps being appended to through the open descriptor until the next rotation.
//
// Threads: not thread-safe; in the daemon, call it on the loop's thread only.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "herd/base/error.h"
#include "herd/base/fd.h"

namespace herd::manager {

class RotatingFile {
 public:
  struct Options {
    std::uint64_t max_size = 10 * 1024 * 1024;  // bytes per file; values < 1 are taken as 1
    unsigned max_files = 5;                     // the current file included; 0 is taken as 1
    unsigned mode = 0640;                       // permissions of files it creates
    // Permissions of the missing folders of `path`, made when the file is opened (PM2 makes
    // them too, mode 0777 less the umask: 0755 usually). 0: a missing folder is an error.
    unsigned dir_mode = 0;
    // After a failure, appends within this time are dropped without touching the disk; the
    // first append after it tries to re-open the file. 0 retries on every append (tests).
    std::uint64_t retry_interval_ms = 1000;
  };
  // Called with the error that started an outage (see above); not called again until a write
  // succeeded. Without a callback, the error is logged at warn level.
  using ErrorCallback = std::function<void(const Error& error)>;

  // Does not touch the disk: the file is opened by open() or by the first append.
  RotatingFile(std::string path, Options options);
  explicit RotatingFile(std::string path) : RotatingFile(std::move(path), Options()) {}
  RotatingFile(const RotatingFile&) = delete;
  RotatingFile& operator=(const RotatingFile&) = delete;

  void set_error_callback(ErrorCallback cb) { on_error_ = std::move(cb); }

  // Opens (creating, mode `mode`) the file for appending, if not open yet, so a bad path is
  // known at start time ("open /x/app-out.log: Permission denied"). A failure here starts an
  // outage like a failed write (the error callback runs, appends retry later).
  Status open();

  // Appends `data`: normally whole lines, in as few write(2) calls as possible (one, unless a
  // rotation falls inside `data`). Returns the error that made some or all of `data` be dropped
  // (they are counted in dropped_bytes()); the caller may ignore it, since the error callback
  // already reports the outage. The write is synchronous: a log file sits on local disk, where
  // a small write(2) costs microseconds, the same bet as PM2's fs.createWriteStream or nginx's
  // access log; an app that floods is bounded by its pipe, not by this call.
  Status write(std::string_view data);

  // PM2's `flush`: empties the current file (writing resumes at offset 0) and removes the
  // rotated files path.1, path.2, ... Targets that are not regular files are left alone.
  // Returns the first error met; the other files are still attempted.
  Status flush();

  // Closes the descriptor. The next append opens the file again.
  void close();

  // PM2's reloadLogs: closes the descriptor and opens `path` again (creating it), so a file
  // renamed behind this object's back (logrotate) is left alone and the next lines go to a new
  // file at `path`. A file that is closed (not opened yet, or in an outage) stays closed: the
  // next append opens the path anyway. Errors are as open()'s.
  Status reopen();

  const std::string& path() const { return path_; }
  const Options& options() const { return options_; }
  // Bytes in the current file, as far as this object knows.
  std::uint64_t size() const { return size_; }
  // Bytes given to write() that did not reach the disk, since construction.
  std::uint64_t dropped_bytes() const { return dropped_; }
  // Rotations done since construction.
  std::uint64_t rotations() const { return rotations_; }
  // True between a failure and the next successful write.
  bool failing() const { return failing_; }
  // The error of the current outage; empty while not failing.
  const std::optional<Error>& last_error() const { return last_error_; }

  // The open descriptor of the current file; -1 while closed. Valid until the next call that
  // writes, rotates, flushes or closes (a rotation opens a new file).
  int fd() const { return fd_.get(); }

  // path.<index> for index > 0, path itself for 0.
  std::string rotated_path(unsigned index) const;

 private:
  Status ensure_open();
  Status rotate();
  Status write_all(std::string_view data);
  void fail(const Error& error, std::uint64_t dropped);
  // ELOOP from an O_NOFOLLOW open, said plainly: the path is a symlink herd will not follow.
  Error no_follow_error(const Error& e) const;

  std::string path_;
  Options options_;
  ErrorCallback on_error_;
  Fd fd_;
  bool regular_ = true;  // rotation and truncation apply only to regular files
  std::uint64_t size_ = 0;
  std::uint64_t dropped_ = 0;
  std::uint64_t dropped_in_outage_ = 0;
  std::uint64_t rotations_ = 0;
  bool failing_ = false;
  bool ends_mid_line_ = false;  // the last byte written was not a line end
  bool torn_line_ = false;      // a failure left a partial line at the end of the file
  std::optional<Error> last_error_;
  std::chrono::steady_clock::time_point retry_at_{};
};

}  // namespace herd::manager
