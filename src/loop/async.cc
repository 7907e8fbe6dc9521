#include "herd/loop/async.h"

#include "loop/event_loop_impl.h"

namespace herd {

Async::Async(EventLoop& loop, Callback cb) : Handle(loop), cb_(std::move(cb)), node_(this) {
  loop.impl().async_handles.push_back(&node_);
  activate();
}

Async::~Async() { node_.unlink(); }

void Async::send() {
  // Coalescing: only the first send after the callback ran writes to the eventfd.
  if (pending_.exchange(true, std::memory_order_acq_rel)) return;
  loop().impl().poller.wake();
}

void Async::on_close_requested() {
  node_.unlink();
  deactivate();
}

}  // namespace herd
