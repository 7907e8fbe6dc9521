// BindChannel: the daemon's end of one instance's bind channel, over which herd's bind library
// (src/inject/bind_preload.c) asks for the app's listening sockets. The wire format is
// src/inject/bind_protocol.h: fixed-size datagrams, one reply per request.
//
// Every request is checked before it is acted on (size, magic, version, operation, address
// family and length, an absolute NUL-terminated Unix path, a port other than 0): anything else
// is answered EINVAL and logged, and never reaches the handlers. A peer that hangs up only
// stops the channel.
//
// Threads: the loop's thread only.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "herd/base/error.h"
#include "herd/base/fd.h"
#include "herd/loop/event_loop.h"
#include "herd/loop/io_watcher.h"
#include "herd/net/address.h"

namespace herd::manager {

class BindChannel {
 public:
  struct Handlers {
    // BIND: the listening socket for `address` (owned by the caller: the channel sends a copy),
    // or the errno the program's bind() fails with. `v6only`: the program's IPV6_V6ONLY, -1
    // for IPv4 and Unix sockets.
    std::function<Result<int>(const Address& address, int v6only)> bind;
    // LISTENING: the program listens on a socket herd gave it. Runs last in its callback, so it
    // may destroy the channel.
    std::function<void(const Address& address)> listening;
    // HELD_PATH: whether herd holds a socket at this Unix path for the app.
    std::function<bool(const std::string& path)> holds_path;
  };

  // A connected SOCK_SEQPACKET pair: the channel keeps one end, `child_end` goes to the
  // instance (blocking, without CLOEXEC once spawn places it).
  static Result<std::pair<std::unique_ptr<BindChannel>, Fd>> create(EventLoop& loop,
                                                                    Handlers handlers);
  // The daemon's end kept across `herd update`'s exec, answering again.
  static std::unique_ptr<BindChannel> adopt(EventLoop& loop, Fd fd, Handlers handlers);
  int fd() const { return fd_.get(); }
  ~BindChannel();
  BindChannel(const BindChannel&) = delete;
  BindChannel& operator=(const BindChannel&) = delete;

  // Starts answering. The watcher does not keep the loop alive.
  Status start();

 private:
  BindChannel(EventLoop& loop, Fd fd, Handlers handlers);
  void on_readable();
  void reply(int error, int fd = -1);

  Fd fd_;
  IoWatcher watcher_;
  Handlers handlers_;
  std::string name_;  // for log lines
};

}  // namespace herd::manager
