// Async: wakes a loop from any thread (uv_async_t). send() is thread-safe and async-signal-safe
// free of allocation; several sends before the callback runs are coalesced into one call.
//
// The handle is active (and referenced) from construction until stop/close/destruction. The
// program must make sure no thread calls send() once the handle is destroyed.
#pragma once

#include <atomic>

#include "herd/loop/handle.h"

namespace herd {

class Async : public Handle {
 public:
  Async(EventLoop& loop, Callback cb);
  ~Async();

  // Thread-safe. Schedules the callback on the loop thread.
  void send();

 protected:
  void on_close_requested() override;

 private:
  friend class EventLoop;
  Callback cb_;
  std::atomic<bool> pending_{false};
  detail::ListNode node_;
};

}  // namespace herd
