#include "herd/loop/io_watcher.h"

#include "loop/event_loop_impl.h"

namespace herd {

IoWatcher::IoWatcher(EventLoop& loop, int fd) : Handle(loop), fd_(fd) {}

IoWatcher::~IoWatcher() { stop(); }

Status IoWatcher::start(std::uint32_t events) {
  loop().check_thread("IoWatcher::start called off the loop thread");
  events &= (kReadable | kWritable);
  if (events == 0) {
    stop();
    return {};
  }
  if (events == events_) return {};
  // epoll refuses EPOLL_CTL_MOD on an exclusive registration: delete and add again instead.
  if (exclusive_ && registered_ != 0) stop();
  if (registered_ == 0) {
    if (Status s = loop().impl().poller.add(this, events); !s) return s;
    registered_ = events;
  } else if (!change_pending_) {
    loop().impl().poller.modify_later(this);
  }
  events_ = events;
  activate();
  return {};
}

void IoWatcher::stop() {
  if (registered_ != 0) {
    loop().impl().poller.forget(this);
    registered_ = 0;
  }
  events_ = 0;
  deactivate();
}

}  // namespace herd
