// An instance's Node IPC channel: what a Node app sends with process.send().
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>

#include "daemon/app.h"
#include "daemon/instance.h"

namespace herd::manager {

void Instance::start_ipc(Fd fd) {
  ipc_ = std::move(fd);
  ipc_buffer_.clear();
  ipc_skipping_ = false;
  ipc_watcher_ = std::make_unique<IoWatcher>(host_.loop(), ipc_.get());
  ipc_watcher_->unref();
  ipc_watcher_->set_callback([this](std::uint32_t) { on_ipc_readable(); });
  if (!ipc_watcher_->start(kReadable)) {
    ipc_watcher_.reset();
    ipc_.reset();
    return;
  }
  node_diagnostics_ = std::make_unique<NodeDiagnostics>(
      host_.loop(), [this](std::string_view line) { return send_ipc_line(line); });
}

void Instance::stop_ipc() {
  ipc_watcher_.reset();
  ipc_.reset();
  code_metrics_.clear();
  // Taken out first: the requests' callbacks answer clients, never this instance again.
  if (auto d = std::move(node_diagnostics_)) d->fail_all("the process ended before it answered");
}

// Every message is read, so an app that sends many never blocks on a full socket, and dropped
// once looked at: a complete line "ready" (JSON string) matters with wait_ready, and an object
// may be a report or an answer of herd's preload (on_ipc_object).
// The buffer holds at most one partial message of kMaxIpcMessage bytes; a longer message (no
// use to herd) is skipped up to its end, so the daemon's memory does not grow with what apps
// send.
void Instance::on_ipc_readable() {
  constexpr std::size_t kMaxIpcMessage = 4096;
  char buf[16384];
  ssize_t n = ::read(ipc_.get(), buf, sizeof(buf));
  if (n <= 0) {
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    ipc_watcher_->stop();  // the app closed its channel; not an error
    return;
  }
  std::string_view data(buf, static_cast<std::size_t>(n));
  while (!data.empty()) {
    std::size_t nl = data.find('\n');
    std::string_view piece = data.substr(0, nl);
    if (!ipc_skipping_ && ipc_buffer_.size() + piece.size() <= kMaxIpcMessage) {
      ipc_buffer_.append(piece);
    } else {
      ipc_skipping_ = true;
      ipc_buffer_.clear();
    }
    if (nl == std::string_view::npos) break;
    data.remove_prefix(nl + 1);
    if (!ipc_skipping_ && app_->spec.wait_ready && ipc_buffer_ == "\"ready\"") on_ready();
    if (!ipc_skipping_ && ipc_buffer_.starts_with('{')) on_ipc_object(ipc_buffer_);
    ipc_buffer_.clear();
    ipc_skipping_ = false;
  }
}

bool Instance::send_ipc_line(std::string_view json_text) {
  if (!ipc_ || !ipc_watcher_ || ipc_watcher_->events() == 0) return false;  // none, or closed
  std::string line(json_text);
  line.push_back('\n');
  // One short line on a socket nobody else writes to: it fits, or the channel is unusable (a
  // full buffer means the app stopped reading). No SIGPIPE when the app closed its end.
  ssize_t n = ::send(ipc_.get(), line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  return n == static_cast<ssize_t>(line.size());
}

}  // namespace herd::manager
