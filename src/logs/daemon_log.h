// DaemonLog: the daemon's own log, herd.log, bounded on disk like the apps' logs.
//
// Installed as herd's log sink (herd/base/log.h), it appends every log line through a RotatingFile
// (rotating_file.h: herd.log, herd.log.1, ... herd.log.<max_files-1>), and keeps the process's
// stdout and stderr pointing at the current file (dup2 after each open or rotation), so whatever
// bypasses the log functions (an abort message, a sanitizer report) still lands in herd.log.
//
// Sizes: HERD_LOG_MAX_SIZE (parse_size's forms: "10M", "512K"; default 10 MiB) and
// HERD_LOG_MAX_FILES (the current file included; default 5), read from the daemon's environment.
//
// Threads: install() and uninstall() on the daemon's main thread, before other threads log and
// after they stopped; the sink itself runs under herd/log's lock, from any thread.
#pragma once

#include <memory>
#include <string>

#include "herd/base/error.h"
#include "logs/rotating_file.h"

namespace herd::manager {

class DaemonLog {
 public:
  // The options from HERD_LOG_MAX_SIZE / HERD_LOG_MAX_FILES (defaults when unset); EINVAL naming
  // the variable when one is set to something else than a size / a whole number >= 1.
  static Result<RotatingFile::Options> options_from_env();

  // `redirect_std`: also dup2 the current file onto fds 1 and 2 (the daemon; tests pass false).
  DaemonLog(std::string path, RotatingFile::Options options, bool redirect_std);
  ~DaemonLog();  // uninstalls itself if installed
  DaemonLog(const DaemonLog&) = delete;
  DaemonLog& operator=(const DaemonLog&) = delete;

  // Opens the file and makes it herd's log sink. Installed even when the open fails (the error
  // is returned and reported by the file's error callback on stderr): like any RotatingFile, it
  // retries on later lines, so the log resumes when the file can be written again.
  Status install();
  // Back to stderr.
  void uninstall();

  const RotatingFile& file() const { return *file_; }

  // PM2's reloadLogs for herd.log: the installed log closes its file and opens the path again
  // before it writes its next line (and points stdout and stderr at the new file). Any thread;
  // it only sets a flag the log's writer reads.
  static void request_reopen();

 private:
  void write(std::string_view line);
  void redirect();

  std::unique_ptr<RotatingFile> file_;
  bool redirect_std_;
  bool installed_ = false;
  int redirected_fd_ = -1;  // the descriptor last dup2'ed onto 1 and 2
  std::uint64_t redirected_rotations_ = 0;
};

}  // namespace herd::manager
