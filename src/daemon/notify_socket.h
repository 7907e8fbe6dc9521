// NotifySocket: the daemon's end of the sd_notify protocol. A datagram Unix socket in
// HERD_HOME, passed to every instance as NOTIFY_SOCKET. Senders are identified by the kernel
// (SCM_CREDENTIALS), never by what they claim, so one app cannot mark another ready.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/state_file.h"
#include "herd/base/fd.h"
#include "herd/loop/event_loop.h"
#include "herd/loop/io_watcher.h"

namespace herd::manager {

class NotifySocket {
 public:
  using MessageCallback = std::function<void(pid_t sender, std::string_view payload)>;

  explicit NotifySocket(EventLoop& loop);
  ~NotifySocket();

  // Binds `path` (replacing a stale file), enables SO_PASSCRED and starts receiving.
  Status bind(const std::string& path, MessageCallback cb);
  const std::string& path() const { return path_; }

 private:
  void on_readable();

  EventLoop& loop_;
  Fd fd_;
  std::unique_ptr<IoWatcher> watcher_;
  std::string path_;
  std::optional<FileId> path_id_;  // the socket file bound there: only that one is removed
  MessageCallback cb_;
};

// One "KEY=value" line of a notify payload, e.g. find_notify_field(p, "STATUS").
bool find_notify_field(std::string_view payload, std::string_view key, std::string_view* value);

}  // namespace herd::manager
