#include "herd/loop/handle.h"

#include "herd/base/log.h"
#include "loop/event_loop_impl.h"

namespace herd {

Handle::Handle(EventLoop& loop) : loop_(&loop), close_node_(this) {}

Handle::~Handle() {
  // A derived destructor has stopped the handle; what is left is bookkeeping.
  if (active_) deactivate();
  close_node_.unlink();
  destroy_slot_.mark_destroyed();
}

void Handle::ref() {
  if (ref_) return;
  ref_ = true;
  if (active_) ++loop_->active_handles_;
}

void Handle::unref() {
  if (!ref_) return;
  ref_ = false;
  if (active_) --loop_->active_handles_;
}

void Handle::activate() {
  if (active_) return;
  active_ = true;
  if (ref_) ++loop_->active_handles_;
}

void Handle::deactivate() {
  if (!active_) return;
  active_ = false;
  if (ref_) --loop_->active_handles_;
}

void Handle::close(Callback on_close) {
  loop_->check_thread("Handle::close called off the loop thread");
  if (closing_) fatal("Handle::close called on a handle that is already closing");
  on_close_requested();
  deactivate();
  closing_ = true;
  close_cb_ = std::move(on_close);
  loop_->impl().closing_handles.push_back(&close_node_);
}

}  // namespace herd
