// EventLoop: one thread's event loop, with libuv's (>= 1.45) phases and Node's queues.
//
// One iteration (see docs/event-loop.md for the diagram and the tests behind each guarantee):
//   timers (once, before the first iteration, in RunMode::kDefault)
//   1. pending     I/O callbacks deferred from the previous iteration
//   2. idle, then prepare handles
//   3. poll        epoll_wait; timeout 0 when anything is pending, idle, immediate or closing,
//                  or the loop is stopping; else until the next timer; else infinite
//   4. pending     again, at most 8 rounds
//   5. check       immediates (set_immediate), then Check handles
//   6. close       close callbacks of handles closed since the last close phase
//   7. timers      update "now", run every timer due by then
// After every callback the loop drains the next-tick queue, then the microtask queue, and repeats
// until both are empty (Node's processTicksAndRejections).
//
// Threads: an EventLoop belongs to the thread that runs it. Every method except post() and
// in_loop_thread() must be called on that thread (checked in debug-check builds). Handles and
// requests belong to their loop's thread too. Other threads reach the loop with post() or Async.
//
// Lifetime: destroy the loop after every handle on it has been closed or destroyed.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <thread>
#include <type_traits>

#include "herd/base/detail/destroy_guard.h"
#include "herd/base/log.h"
#include "herd/loop/detail/immediate.h"

namespace herd {

class Handle;
class Timer;
class IoWatcher;
class Work;

namespace detail {
class List;
class TimerHeap;
struct PoolAccess;
}  // namespace detail

using Callback = std::move_only_function<void()>;

enum class RunMode {
  kDefault,  // run until no referenced active handle or request is left, or stop() is called
  kOnce,     // one iteration; block in poll if there is nothing else to do
  kNoWait,   // one iteration; never block
};

// Identifies a queued immediate for clear_immediate(). 0 is never a valid id.
using ImmediateId = std::uint64_t;

class EventLoop {
 public:
  // Creates the I/O backend (epoll) and the wake-up eventfd. These only fail when the process is
  // out of descriptors or memory; the constructor then aborts with a message naming the cause.
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Runs the loop (see the phases above). Returns true if referenced handles or requests are
  // still active, false when the loop has nothing left to do. After stop(), returns at the end
  // of the current iteration. Not reentrant: calling run() from a callback aborts.
  bool run(RunMode mode = RunMode::kDefault);
  // Makes run() return at the end of the current iteration (the poll phase does not block).
  void stop();
  // True while a referenced handle or request is active, or a close callback or immediate waits.
  bool alive() const;

  // The loop's cached monotonic time in milliseconds, updated at the start of each iteration's
  // timer phase and by update_time(). Timers measure from it.
  std::uint64_t now() const { return now_ms_; }
  void update_time();

  // process.nextTick: `cb` runs after the current callback, before microtasks and before any
  // other callback of the loop.
  void next_tick(Callback cb);
  // queueMicrotask / Promise.then: `cb` runs once the next-tick queue is empty, before the next
  // callback of the loop. Microtasks queued by microtasks run in the same drain.
  void queue_microtask(Callback cb);
  // setImmediate: `fn` runs in the check phase. Immediates queued while immediates run wait for
  // the next iteration. A pending immediate keeps the loop alive and makes poll not block.
  // The callable is stored in the immediate's node (no allocation when it is at most
  // detail::ImmediateNode::kInlineSize bytes, as a Callback is; nodes are recycled), runs once
  // and is destroyed right after it runs, or when cleared, or with the loop if it never ran.
  template <class F>
  requires std::invocable < std::decay_t<F>
  & > ImmediateId set_immediate(F&& fn);
  // The same for a Callback; an empty one runs as a no-op.
  ImmediateId set_immediate(Callback cb);
  // clearImmediate, O(1): destroys the callable unrun and returns true; returns false if `id`
  // already ran (or is running), was cleared, or never existed.
  bool clear_immediate(ImmediateId id);

  // Thread-safe. Runs `cb` on the loop thread in a later poll phase, in the order posted. Does
  // not keep the loop alive by itself; callbacks posted to a loop that never runs again are
  // destroyed with the loop, unrun.
  void post(Callback cb);
  // Thread-safe. True on the thread that runs (or last ran, or created) this loop.
  bool in_loop_thread() const { return std::this_thread::get_id() == owner_; }

  // Replaces the default response to an exception escaping a callback (log and abort) with
  // `handler`, after which the loop stops at the end of the iteration. Worker threads use this
  // to report the error to their owner instead of taking the process down.
  using ExceptionHandler = std::function<void(std::exception_ptr error, const std::string& what)>;
  void set_exception_handler(ExceptionHandler handler) { exception_handler_ = std::move(handler); }

  // Counts, mostly for tests and diagnostics.
  std::size_t active_handles() const { return active_handles_; }
  std::size_t active_requests() const { return active_requests_; }

  // --- for libherd's own handle and request types -------------------------------------------
  // Runs `fn` as a loop callback: a noexcept boundary (an escaping exception is logged with
  // `what` and aborts the process) followed by the next-tick and microtask drain.
  template <class F>
  void invoke(const char* what, F&& fn) noexcept {
    try {
      fn();
    } catch (...) {
      on_callback_exception(what);
    }
    if (drain_needed_) drain_ticks_and_microtasks();
  }
  // A request (thread-pool work, a write) keeps the loop alive between register and unregister.
  void register_request() { ++active_requests_; }
  void unregister_request() { --active_requests_; }
  // Defers `cb` to the next iteration's pending phase (used for I/O completions that must not
  // run re-entrantly, as libuv does for write callbacks).
  void defer(Callback cb);
  // Runs a handle's callback stored in `slot`. The callback is moved out while it runs, so the
  // handle may replace its own callback, stop itself, or even be destroyed by it: the handle's
  // destructor tells this frame's guard, and then the handle is not touched again.
  template <class H, class Fn, class... Args>
  void dispatch(H* handle, Fn& slot, const char* what, Args... args) noexcept {
    Fn cb = std::move(slot);
    auto* base = static_cast<std::conditional_t<true, Handle, H>*>(handle);
    detail::DestroyGuard guard(base->destroy_slot_);
    invoke(what, [&] { cb(args...); });
    if (guard.destroyed()) return;
    if (!slot) slot = std::move(cb);
  }
  // Aborts with a message when called off the loop's thread (debug-check builds only).
  void check_thread(const char* what) const {
    HERD_DCHECK(in_loop_thread(), what);
    (void)what;
  }

 private:
  friend class Handle;
  friend class Timer;
  friend class IoWatcher;
  friend class Async;
  friend class detail::TimerHeap;
  friend struct detail::PoolAccess;
  template <int Phase>
  friend class PhaseHandle;

  // The containers, the poller and the cross-thread queue (src/loop/event_loop_impl.h).
  struct Impl;

  void run_timers();
  void run_pending();
  template <int Phase>
  void run_phase_list(detail::List& list);
  void run_immediates();
  // Allocates a chunk of immediate nodes onto the free list; returns the list's head.
  detail::ImmediateNode* grow_immediates();
  detail::ImmediateNode* find_immediate(std::uint32_t index);
  void destroy_queued_immediates();
  void run_closing();
  void poll(int timeout_ms);
  int backend_timeout() const;
  void drain_posted();
  void run_work_done();
  void run_asyncs();
  void drain_ticks_and_microtasks();
  void on_callback_exception(const char* what);

  // Impl is built inside the loop object rather than behind a pointer, so that the hot paths
  // (set_immediate, every phase) reach it without an extra dependent load. event_loop.cc checks
  // that it fits.
  static constexpr std::size_t kImplSize = 768;
  Impl& impl() { return *std::launder(reinterpret_cast<Impl*>(impl_storage_)); }
  const Impl& impl() const { return *std::launder(reinterpret_cast<const Impl*>(impl_storage_)); }

  alignas(std::max_align_t) std::byte impl_storage_[kImplSize];
  std::thread::id owner_;
  bool running_ = false;
  bool stop_flag_ = false;
  bool draining_ = false;
  bool drain_needed_ = false;  // a tick or microtask was queued since the last full drain
  std::uint64_t now_ms_ = 0;

  std::size_t active_handles_ = 0;  // active and referenced
  std::size_t active_requests_ = 0;
  std::size_t live_immediates_ = 0;  // queued or running, not yet run and not cleared
  // Immediates for the next check phase, in order (singly linked through ImmediateNode::next),
  // and the recycled nodes. The nodes themselves live in chunks owned by Impl.
  detail::ImmediateNode* immediates_head_ = nullptr;
  detail::ImmediateNode** immediates_tail_ = &immediates_head_;
  detail::ImmediateNode* free_immediates_ = nullptr;
  ExceptionHandler exception_handler_;
};

template <class F>
requires std::invocable < std::decay_t<F>
& > ImmediateId EventLoop::set_immediate(F&& fn) {
  check_thread("EventLoop::set_immediate called off the loop thread");
  detail::ImmediateNode* n = free_immediates_ != nullptr ? free_immediates_ : grow_immediates();
  n->emplace(std::forward<F>(fn));  // if this throws, the node stays on the free list
  free_immediates_ = n->next;
  n->next = nullptr;
  *immediates_tail_ = n;
  immediates_tail_ = &n->next;
  if (++n->generation == 0) n->generation = 1;  // 0 would make id 0 possible
  ++live_immediates_;
  return n->id();
}

}  // namespace herd
