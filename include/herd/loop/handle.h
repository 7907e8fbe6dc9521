// Handle: the base of every long-lived loop object (timers, watchers, signals, streams...).
//
// Active: the handle is started and will produce callbacks. Referenced (the default): while
// active, it keeps EventLoop::run() going. unref() lets the loop end even while it is active.
//
// Closing is two-phase, as in libuv: close(cb) stops the handle at once and queues it; `cb` runs
// in the close phase of the current iteration (after check). The object must stay alive until
// then, and may be destroyed inside `cb` or any time after. Destroying a handle without close()
// is also safe: the destructor stops it and unlinks it from the loop. Even inside one of its own
// callbacks the loop notices and does not touch the handle again, but close() says what is
// meant and is the pattern to prefer. is_closing() turns true once on_close_requested() ran.
//
// Threads: every method must be called on the loop's thread (Async::send() is the exception).
#pragma once

#include "herd/base/detail/destroy_guard.h"
#include "herd/base/detail/intrusive_list.h"
#include "herd/loop/event_loop.h"

namespace herd {

class Handle {
 public:
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  EventLoop& loop() const { return *loop_; }
  bool is_active() const { return active_; }
  bool is_closing() const { return closing_; }

  void ref();
  void unref();
  bool has_ref() const { return ref_; }

  // Stops the handle and schedules `on_close` for this iteration's close phase. Closing a handle
  // that is already closing is a bug and aborts.
  void close(Callback on_close = {});

 protected:
  explicit Handle(EventLoop& loop);
  // Derived destructors must stop the handle first; this one unlinks it from the close queue.
  ~Handle();

  // Subclasses call these from start/stop so the loop's count of live handles stays right.
  void activate();
  void deactivate();
  // Stops whatever the subclass runs; called by close().
  virtual void on_close_requested() = 0;
  // For subclasses that run user callbacks: a detail::DestroyGuard on it tells whether a callback
  // destroyed the handle. A subclass destructor that runs code calls mark_destroyed() first.
  detail::DestroySlot& destroy_slot() { return destroy_slot_; }

 private:
  friend class EventLoop;

  EventLoop* loop_;
  detail::DestroySlot destroy_slot_;  // guarded by EventLoop::dispatch and by subclasses
  detail::ListNode close_node_;
  Callback close_cb_;
  bool active_ = false;
  bool ref_ = true;
  bool closing_ = false;
};

}  // namespace herd
