// Idle, Prepare and Check: handles whose callback runs once per loop iteration in one phase.
//   Idle     before prepare; while one is active, poll does not block (uv_idle_t)
//   Prepare  right before poll (uv_prepare_t)
//   Check    right after poll, after the iteration's immediates (uv_check_t)
// Handles started during their own phase first run in the next iteration; a handle stopped by
// an earlier callback of the same phase does not run.
#pragma once

#include "herd/loop/handle.h"

namespace herd {

namespace detail {
enum Phase { kIdlePhase = 0, kPreparePhase = 1, kCheckPhase = 2 };
}  // namespace detail

template <int Phase>
class PhaseHandle : public Handle {
 public:
  explicit PhaseHandle(EventLoop& loop) : Handle(loop) {}
  ~PhaseHandle() { stop(); }

  // Runs `cb` in every iteration until stopped. Starting an active handle replaces its callback.
  void start(Callback cb);
  void stop();

 protected:
  void on_close_requested() override { stop(); }

 private:
  friend class EventLoop;
  detail::List& list();

  Callback cb_;
  detail::ListNode node_;
};

extern template class PhaseHandle<detail::kIdlePhase>;
extern template class PhaseHandle<detail::kPreparePhase>;
extern template class PhaseHandle<detail::kCheckPhase>;

using Idle = PhaseHandle<detail::kIdlePhase>;
using Prepare = PhaseHandle<detail::kPreparePhase>;
using Check = PhaseHandle<detail::kCheckPhase>;

}  // namespace herd
