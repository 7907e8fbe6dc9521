// Timer: setTimeout / setInterval, with libuv's uv_timer_t semantics.
//
// A timer fires in the timers phase once the loop's cached time reaches now() + timeout at
// start(). Timers due at the same time fire in the order they were started. A timer started
// (or restarted) by a timer callback never fires in the same timers phase, even with timeout 0.
// Repeating timers are re-armed before their callback runs, relative to the loop's time; stop()
// inside the callback ends the repetition.
#pragma once

#include <cstddef>
#include <cstdint>

#include "herd/base/error.h"
#include "herd/loop/handle.h"

namespace herd {

class Timer : public Handle {
 public:
  explicit Timer(EventLoop& loop);
  ~Timer();

  // Arms the timer: `cb` runs `timeout_ms` from now(), then every `repeat_ms` if non-zero.
  // Starting an armed timer re-arms it (it keeps no place from its earlier start).
  void start(Callback cb, std::uint64_t timeout_ms, std::uint64_t repeat_ms = 0);
  // Disarms; a no-op if not armed. Safe in any callback, including the timer's own.
  void stop();
  // uv_timer_again: a repeating timer restarts with its repeat as timeout; a timer that never
  // ran start() gets EINVAL.
  Status again();
  void set_repeat(std::uint64_t repeat_ms) { repeat_ms_ = repeat_ms; }
  std::uint64_t repeat() const { return repeat_ms_; }
  // Milliseconds until the timer fires; 0 if it is due or not armed.
  std::uint64_t due_in() const;

 protected:
  void on_close_requested() override { stop(); }

 private:
  friend class EventLoop;
  friend class detail::TimerHeap;

  Callback cb_;
  std::uint64_t deadline_ = 0;
  std::uint64_t repeat_ms_ = 0;
  std::uint64_t start_id_ = 0;
  std::size_t heap_index_ = kNotInHeap;
  detail::ListNode ready_node_;  // in the batch of due timers being run
  bool started_once_ = false;

  static constexpr std::size_t kNotInHeap = static_cast<std::size_t>(-1);
};

}  // namespace herd
