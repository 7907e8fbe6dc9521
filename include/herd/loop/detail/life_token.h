// LifeToken and DeferOnce: callbacks queued on the loop that must not run once the object that
// queued them is gone. Internal to libherd.
//
// The loop cannot take back a callback given to defer() or to a handle, so the callback carries
// a LifeToken::Watch and does nothing once the token's owner has been destroyed. DeferOnce adds
// the other half of the pattern: at most one deferral in flight, for work such as "run the
// completions" that one run handles however often it was asked for.
//
// Threads: the owner's loop thread only.
#pragma once

#include <memory>
#include <utility>

#include "herd/loop/event_loop.h"

namespace herd::detail {

class LifeToken {
 public:
  // Observes a token; expired() turns true when the token is destroyed.
  class Watch {
   public:
    bool expired() const { return alive_.expired(); }

   private:
    friend class LifeToken;
    explicit Watch(std::weak_ptr<char> alive) : alive_(std::move(alive)) {}
    std::weak_ptr<char> alive_;
  };

  LifeToken() = default;
  LifeToken(const LifeToken&) = delete;
  LifeToken& operator=(const LifeToken&) = delete;

  // Allocates on the first call only, so an owner that never defers anything pays nothing.
  Watch watch() {
    if (!alive_) alive_ = std::make_shared<char>();
    return Watch(alive_);
  }

 private:
  std::shared_ptr<char> alive_;
};

class DeferOnce {
 public:
  DeferOnce() = default;
  DeferOnce(const DeferOnce&) = delete;
  DeferOnce& operator=(const DeferOnce&) = delete;

  // Defers `fn` to the next pending phase of `loop` unless a deferral is already queued (then
  // `fn` is dropped: the queued one does the work). `fn` runs only if this object still exists;
  // scheduled() is false again by the time it runs, so `fn` may schedule the next round.
  template <class F>
  void schedule(EventLoop& loop, F fn) {
    if (scheduled_) return;
    scheduled_ = true;
    loop.defer([this, watch = token_.watch(), fn = std::move(fn)]() mutable {
      if (watch.expired()) return;
      scheduled_ = false;
      fn();
    });
  }
  bool scheduled() const { return scheduled_; }

 private:
  LifeToken token_;
  bool scheduled_ = false;
};

}  // namespace herd::detail
