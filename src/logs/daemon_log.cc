#include "logs/daemon_log.h"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <string_view>

#include "app/app_spec.h"
#include "herd/base/log.h"

namespace herd::manager {

Result<RotatingFile::Options> DaemonLog::options_from_env() {
  RotatingFile::Options o;
  if (const char* v = std::getenv("HERD_LOG_MAX_SIZE"); v != nullptr && *v != '\0') {
    auto size = parse_size(v);
    if (!size || *size == 0) {
      return fail(EINVAL,
                  fmt::format("HERD_LOG_MAX_SIZE={} is not a size (like 10M, 512K or 1048576)", v));
    }
    o.max_size = *size;
  }
  if (const char* v = std::getenv("HERD_LOG_MAX_FILES"); v != nullptr && *v != '\0') {
    std::string_view text(v);
    unsigned n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size() || n == 0) {
      return fail(EINVAL, fmt::format("HERD_LOG_MAX_FILES={} is not a whole number >= 1", v));
    }
    o.max_files = n;
  }
  o.mode = 0600;  // like the rest of HERD_HOME
  return o;
}

namespace {

// Set by request_reopen(), read by whichever DaemonLog writes next (there is one per process).
std::atomic<bool> g_reopen_requested{false};

}  // namespace

void DaemonLog::request_reopen() { g_reopen_requested.store(true, std::memory_order_relaxed); }

DaemonLog::DaemonLog(std::string path, RotatingFile::Options options, bool redirect_std)
    : file_(std::make_unique<RotatingFile>(std::move(path), options)), redirect_std_(redirect_std) {
  // The default error callback logs, which would re-enter the sink: report on stderr directly,
  // which is still the last good file (or /dev/null).
  file_->set_error_callback([](const Error& e) {
    std::string line =
        fmt::format("herd[{}] error: {}; log lines are dropped until it works again\n", ::getpid(),
                    e.message());
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, line.data(), line.size());
  });
}

DaemonLog::~DaemonLog() { uninstall(); }

Status DaemonLog::install() {
  Status opened = file_->open();
  redirect();
  set_log_sink([this](std::string_view line) { write(line); });
  installed_ = true;
  return opened;
}

void DaemonLog::uninstall() {
  if (!installed_) return;
  set_log_sink(nullptr);
  installed_ = false;
}

void DaemonLog::write(std::string_view line) {
  if (g_reopen_requested.exchange(false, std::memory_order_relaxed)) {
    file_->close();
    redirected_fd_ = -1;  // the new file may get the old descriptor's number: dup2 it anyway
  }
  (void)file_->write(line);  // a failure is reported by the error callback
  redirect();
}

void DaemonLog::redirect() {
  if (!redirect_std_) return;
  int fd = file_->fd();
  if (fd < 0) return;
  if (fd == redirected_fd_ && file_->rotations() == redirected_rotations_) return;
  ::dup2(fd, STDOUT_FILENO);
  ::dup2(fd, STDERR_FILENO);
  redirected_fd_ = fd;
  redirected_rotations_ = file_->rotations();
}

}  // namespace herd::manager
