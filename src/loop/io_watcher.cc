#include "herd/io_watcher.h"

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
  if (Status s = loop().poller_update(this, events_, events); !s) return s;
  events_ = events;
  activate();
  return {};
}

void IoWatcher::stop() {
  if (events_ != 0) {
    loop().poller_forget(this);
    events_ = 0;
  }
  deactivate();
}

}  // namespace herd
