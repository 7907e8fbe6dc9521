#include "herd/loop/timer.h"

#include <limits>

#include "loop/event_loop_impl.h"

namespace herd {

Timer::Timer(EventLoop& loop) : Handle(loop), ready_node_(this) {}

Timer::~Timer() { stop(); }

void Timer::start(Callback cb, std::uint64_t timeout_ms, std::uint64_t repeat_ms) {
  loop().check_thread("Timer::start called off the loop thread");
  stop();
  cb_ = std::move(cb);
  repeat_ms_ = repeat_ms;
  started_once_ = true;
  EventLoop& l = loop();
  std::uint64_t now = l.now();
  // Saturate instead of wrapping: a huge timeout means "practically never", not "at once".
  deadline_ = timeout_ms > std::numeric_limits<std::uint64_t>::max() - now
                  ? std::numeric_limits<std::uint64_t>::max()
                  : now + timeout_ms;
  start_id_ = l.impl().timer_counter++;
  l.impl().timers.push(this);
  activate();
}

void Timer::stop() {
  if (heap_index_ != kNotInHeap) loop().impl().timers.remove(this);
  // A timer in the batch of due timers being run is taken out so its callback does not run.
  ready_node_.unlink();
  deactivate();
}

Status Timer::again() {
  if (!started_once_) return fail(EINVAL, "Timer::again on a timer that was never started");
  if (repeat_ms_ == 0) return {};
  if (heap_index_ != kNotInHeap) loop().impl().timers.remove(this);
  ready_node_.unlink();
  EventLoop& l = loop();
  deadline_ = l.now() + repeat_ms_;
  start_id_ = l.impl().timer_counter++;
  l.impl().timers.push(this);
  activate();
  return {};
}

std::uint64_t Timer::due_in() const {
  if (heap_index_ == kNotInHeap) return 0;
  std::uint64_t now = loop().now();
  return deadline_ > now ? deadline_ - now : 0;
}

}  // namespace herd
