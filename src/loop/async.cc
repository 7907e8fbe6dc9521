#include "herd/loop/async.h"

namespace herd {

Async::Async(EventLoop& loop, Callback cb) : Handle(loop), cb_(std::move(cb)), node_(this) {
  loop.async_handles_.push_back(&node_);
  activate();
}

Async::~Async() { node_.unlink(); }

void Async::send() {
  // Coalescing: only the first send after the callback ran writes to the eventfd.
  if (pending_.exchange(true, std::memory_order_acq_rel)) return;
  loop().wake();
}

void Async::on_close_requested() {
  node_.unlink();
  deactivate();
}

}  // namespace herd
