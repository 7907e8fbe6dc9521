#include "herd/loop/event_loop.h"

#include <time.h>

#include <algorithm>
#include <climits>
#include <exception>

#include "herd/base/log.h"
#include "herd/loop/async.h"
#include "herd/loop/handle.h"
#include "herd/loop/io_watcher.h"
#include "herd/loop/phase_handle.h"
#include "herd/loop/timer.h"
#include "loop/event_loop_impl.h"
#include "loop/pool_access.h"

namespace herd {
namespace {

constexpr int kMaxPendingRounds = 8;  // libuv's bound on pending re-runs after poll

std::uint64_t monotonic_ms() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000u +
         static_cast<std::uint64_t>(ts.tv_nsec) / 1000000u;
}

}  // namespace

EventLoop::EventLoop() : owner_(std::this_thread::get_id()) {
  static_assert(sizeof(Impl) <= kImplSize, "raise EventLoop::kImplSize");
  static_assert(alignof(Impl) <= alignof(std::max_align_t));
  new (impl_storage_) Impl();
  now_ms_ = monotonic_ms();
}

EventLoop::~EventLoop() {
  if (running_) fatal("EventLoop destroyed while run() is executing");
  if (active_requests_ != 0) {
    // A pool thread would later post its completion to freed memory.
    fatal(fmt::format("EventLoop destroyed with {} requests in flight", active_requests_));
  }
  // Dropped while every member is still alive: their destructors may reach back into the loop
  // (a deferred callback can own a handle).
  impl().pending.clear();
  destroy_queued_immediates();
  impl().ticks.clear();
  impl().microtasks.clear();
  impl().posted.clear();
  impl().closing_handles.clear();
  impl().~Impl();
}

void EventLoop::update_time() { now_ms_ = monotonic_ms(); }

bool EventLoop::alive() const {
  return active_handles_ > 0 || active_requests_ > 0 || !impl().pending.empty() ||
         !impl().closing_handles.empty() || live_immediates_ > 0;
}

void EventLoop::stop() { stop_flag_ = true; }

// The shape of one run, in libuv 1.45's order (src/unix/core.c, uv_run). Each step is a
// function below; docs/event-loop.md draws the same thing.
bool EventLoop::run(RunMode mode) {
  if (running_) fatal("EventLoop::run called from inside a callback of the same loop");
  owner_ = std::this_thread::get_id();
  running_ = true;
  // Ticks and microtasks queued before run(), like those of Node's main module, go first.
  drain_ticks_and_microtasks();

  bool alive_now = alive();
  if (!alive_now) update_time();
  if (mode == RunMode::kDefault && alive_now && !stop_flag_) {
    update_time();
    run_timers();
  }
  while (alive_now && !stop_flag_) {
    bool can_sleep = impl().pending.empty() && impl().idle_handles.empty() && live_immediates_ == 0;
    run_pending();
    run_phase_list<detail::kIdlePhase>(impl().idle_handles);
    run_phase_list<detail::kPreparePhase>(impl().prepare_handles);
    int timeout = 0;
    if ((mode == RunMode::kOnce && can_sleep) || mode == RunMode::kDefault) {
      timeout = backend_timeout();
    }
    poll(timeout);
    // Completions queued by the poll phase (write callbacks, say) run now, a few rounds.
    for (int round = 0; round < kMaxPendingRounds && !impl().pending.empty(); ++round)
      run_pending();
    run_immediates();
    run_phase_list<detail::kCheckPhase>(impl().check_handles);
    run_closing();
    update_time();
    run_timers();
    alive_now = alive();
    if (mode != RunMode::kDefault) break;
  }
  stop_flag_ = false;
  running_ = false;
  return alive_now;
}

int EventLoop::backend_timeout() const {
  if (stop_flag_) return 0;
  if (active_handles_ == 0 && active_requests_ == 0) return 0;
  if (!impl().pending.empty() || !impl().idle_handles.empty() || !impl().closing_handles.empty())
    return 0;
  if (live_immediates_ > 0) return 0;
  if (impl().timers.empty()) return -1;
  std::uint64_t deadline = impl().timers.top()->deadline_;
  if (deadline <= now_ms_) return 0;
  std::uint64_t diff = deadline - now_ms_;
  return diff > static_cast<std::uint64_t>(INT_MAX) ? INT_MAX : static_cast<int>(diff);
}

void EventLoop::run_timers() {
  // libuv >= 1.45: take every due timer out first, then run them. A timer (re)started by one
  // of these callbacks goes into the heap and waits for the next timers phase, even at 0 ms.
  detail::List ready;
  while (!impl().timers.empty()) {
    Timer* t = impl().timers.top();
    if (t->deadline_ > now_ms_) break;
    impl().timers.remove(t);
    t->deactivate();
    ready.push_back(&t->ready_node_);
  }
  while (!ready.empty()) {
    detail::ListNode* node = ready.front();
    node->unlink();
    Timer* t = static_cast<Timer*>(node->owner);
    if (t->repeat_ms_ != 0) {
      // Re-armed before the callback, so stop() inside it ends the repetition.
      t->deadline_ = now_ms_ + t->repeat_ms_;
      t->start_id_ = impl().timer_counter++;
      impl().timers.push(t);
      t->activate();
    }
    dispatch(t, t->cb_, "timer");
  }
}

void EventLoop::run_pending() {
  if (impl().pending.empty()) return;
  // Only what was pending when the phase began; new deferrals wait for the next round.
  std::deque<Callback> batch;
  batch.swap(impl().pending);
  while (!batch.empty()) {
    Callback cb = std::move(batch.front());
    batch.pop_front();
    invoke("pending", cb);
  }
}

template <int Phase>
void EventLoop::run_phase_list(detail::List& list) {
  // libuv's pattern: move the handles to a private list, and put each back before its callback
  // runs. A handle started now waits for the next iteration; one stopped now is skipped.
  detail::List batch;
  batch.splice_back(list);
  while (!batch.empty()) {
    detail::ListNode* node = batch.front();
    list.push_back(node);
    auto* h = static_cast<PhaseHandle<Phase>*>(node->owner);
    dispatch(h, h->cb_, "idle/prepare/check");
  }
}

void EventLoop::run_immediates() {
  // Immediates queued by these callbacks go to the emptied queue, the next iteration's batch, as
  // setImmediate does. Each node is recycled once the walk has passed it; a cleared one (op
  // null) is skipped. Nodes ahead in the batch are never on the free list, so a callback that
  // queues more immediates cannot reuse them.
  detail::ImmediateNode* n = immediates_head_;
  if (n == nullptr) return;
  immediates_head_ = nullptr;
  immediates_tail_ = &immediates_head_;
  while (n != nullptr) {
    detail::ImmediateNode* next = n->next;
    if (detail::ImmediateNode::OpFn op = n->op) {
      n->op = nullptr;  // running: clear_immediate() of its id now returns false
      --live_immediates_;
      invoke("immediate", [n, op] { op(n, detail::ImmediateNode::Op::kRun); });
    }
    n->next = free_immediates_;
    free_immediates_ = n;
    n = next;
  }
}

detail::ImmediateNode* EventLoop::grow_immediates() {
  constexpr std::size_t kChunk = Impl::kImmediateChunk;
  auto& chunks = impl().immediate_chunks;
  std::size_t first = chunks.size() * kChunk;
  if (first + kChunk > std::size_t{UINT32_MAX}) fatal("more than 2^32 immediates queued");
  chunks.push_back(std::make_unique<detail::ImmediateNode[]>(kChunk));
  detail::ImmediateNode* nodes = chunks.back().get();
  for (std::size_t i = kChunk; i-- > 0;) {
    nodes[i].index = static_cast<std::uint32_t>(first + i);
    nodes[i].next = free_immediates_;
    free_immediates_ = &nodes[i];
  }
  return free_immediates_;
}

detail::ImmediateNode* EventLoop::find_immediate(std::uint32_t index) {
  constexpr std::size_t kChunk = Impl::kImmediateChunk;
  auto& chunks = impl().immediate_chunks;
  if (index / kChunk >= chunks.size()) return nullptr;
  return &chunks[index / kChunk][index % kChunk];
}

void EventLoop::destroy_queued_immediates() {
  // A callable's destructor may queue another immediate: loop until the queue stays empty.
  while (immediates_head_ != nullptr) {
    detail::ImmediateNode* n = immediates_head_;
    immediates_head_ = nullptr;
    immediates_tail_ = &immediates_head_;
    for (; n != nullptr; n = n->next) {
      if (detail::ImmediateNode::OpFn op = n->op) {
        n->op = nullptr;
        --live_immediates_;
        op(n, detail::ImmediateNode::Op::kDestroy);
      }
    }
  }
}

void EventLoop::run_closing() {
  // Handles closed by these close callbacks are closed in the next iteration's close phase.
  detail::List batch;
  batch.splice_back(impl().closing_handles);
  while (!batch.empty()) {
    detail::ListNode* node = batch.front();
    node->unlink();
    Handle* h = static_cast<Handle*>(node->owner);
    Callback cb = std::move(h->close_cb_);
    // From here on the handle may be freed by its owner: do not touch it again.
    if (cb) invoke("close", cb);
  }
}

void EventLoop::poll(int timeout_ms) {
  bool woken = impl().poller.wait(timeout_ms, [this](IoWatcher* w, std::uint32_t events) {
    dispatch(w, w->cb_, "io", events);
  });
  if (woken) {
    drain_posted();
    run_work_done();
    run_asyncs();
  }
}

void EventLoop::next_tick(Callback cb) {
  check_thread("EventLoop::next_tick called off the loop thread");
  impl().ticks.push_back(std::move(cb));
  drain_needed_ = true;
}

void EventLoop::queue_microtask(Callback cb) {
  check_thread("EventLoop::queue_microtask called off the loop thread");
  impl().microtasks.push_back(std::move(cb));
  drain_needed_ = true;
}

ImmediateId EventLoop::set_immediate(Callback cb) {
  if (!cb) return set_immediate([] {});
  return set_immediate<Callback>(std::move(cb));
}

bool EventLoop::clear_immediate(ImmediateId id) {
  check_thread("EventLoop::clear_immediate called off the loop thread");
  detail::ImmediateNode* n = find_immediate(static_cast<std::uint32_t>(id));
  if (n == nullptr || n->generation != static_cast<std::uint32_t>(id >> 32) || n->op == nullptr)
    return false;
  // The node stays in its list (queued or running) until the check phase reaches and recycles
  // it; only the callable goes now.
  detail::ImmediateNode::OpFn op = n->op;
  n->op = nullptr;
  --live_immediates_;
  op(n, detail::ImmediateNode::Op::kDestroy);
  return true;
}

void EventLoop::defer(Callback cb) {
  check_thread("EventLoop::defer called off the loop thread");
  impl().pending.push_back(std::move(cb));
}

void EventLoop::post(Callback cb) {
  {
    std::lock_guard<std::mutex> lock(impl().posted_mutex);
    impl().posted.push_back(std::move(cb));
  }
  impl().poller.wake();
}

void EventLoop::drain_posted() {
  {
    std::lock_guard<std::mutex> lock(impl().posted_mutex);
    impl().posted_batch.swap(impl().posted);
  }
  for (Callback& cb : impl().posted_batch) invoke("posted", cb);
  impl().posted_batch.clear();
}

void EventLoop::run_work_done() { detail::PoolAccess::run_completions(*this); }

void EventLoop::run_asyncs() {
  detail::List batch;
  batch.splice_back(impl().async_handles);
  while (!batch.empty()) {
    detail::ListNode* node = batch.front();
    impl().async_handles.push_back(node);
    auto* a = static_cast<Async*>(node->owner);
    if (a->pending_.exchange(false, std::memory_order_acq_rel)) dispatch(a, a->cb_, "async");
  }
}

void EventLoop::drain_ticks_and_microtasks() {
  if (draining_) return;  // the outer drain picks up whatever this callback queued
  draining_ = true;
  // Node's processTicksAndRejections: every tick (also those queued by ticks), then every
  // microtask (also those queued by microtasks), and again while microtasks queued ticks.
  // Each callback is taken off its queue before it runs, so it may queue more behind itself.
  auto run_all = [this](std::deque<Callback>& queue, const char* what) {
    while (!queue.empty()) {
      Callback cb = std::move(queue.front());
      queue.pop_front();
      try {
        cb();
      } catch (...) {
        on_callback_exception(what);
      }
    }
  };
  do {
    run_all(impl().ticks, "next-tick");
    run_all(impl().microtasks, "microtask");
  } while (!impl().ticks.empty());
  drain_needed_ = false;
  draining_ = false;
}

void EventLoop::on_callback_exception(const char* what) {
  // Called from a catch block: rethrow to learn what escaped.
  std::string description;
  try {
    throw;
  } catch (const std::exception& e) {
    description = fmt::format("uncaught exception in a {} callback: {}", what, e.what());
  } catch (...) {
    description = fmt::format("uncaught exception of a non-standard type in a {} callback", what);
  }
  if (!exception_handler_) fatal(description);
  exception_handler_(std::current_exception(), description);
  stop();
}

}  // namespace herd
