#include "herd/loop/event_loop.h"

#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <exception>

#include "herd/base/log.h"
#include "herd/loop/async.h"
#include "herd/loop/handle.h"
#include "herd/loop/io_watcher.h"
#include "herd/loop/phase_handle.h"
#include "herd/loop/timer.h"
#include "loop/timer_heap.h"

namespace herd {
namespace {

// The wake-up eventfd's epoll entry carries this address instead of a watcher's.
char wakeup_tag;

constexpr int kMaxPendingRounds = 8;  // libuv's bound on pending re-runs after poll
constexpr std::size_t kInitialEvents = 64;
constexpr std::size_t kMaxEvents = 4096;

std::uint64_t monotonic_ms() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000u +
         static_cast<std::uint64_t>(ts.tv_nsec) / 1000000u;
}

std::uint32_t to_epoll(std::uint32_t events) {
  return ((events & kReadable) ? EPOLLIN : 0u) | ((events & kWritable) ? EPOLLOUT : 0u);
}

}  // namespace

EventLoop::EventLoop()
    : owner_(std::this_thread::get_id()), timers_(std::make_unique<detail::TimerHeap>()) {
  auto ep = Fd::epoll();
  if (!ep) fatal("EventLoop: " + ep.error().message());
  epoll_ = std::move(*ep);
  auto ev = Fd::eventfd();
  if (!ev) fatal("EventLoop: " + ev.error().message());
  wakeup_ = std::move(*ev);
  epoll_event e{};
  e.events = EPOLLIN;
  e.data.ptr = &wakeup_tag;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wakeup_.get(), &e) < 0) {
    fatal("EventLoop: " + Error::from_errno("epoll_ctl add eventfd").message());
  }
  events_.resize(kInitialEvents);
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
  pending_.clear();
  immediates_.clear();
  running_immediates_.clear();
  ticks_.clear();
  microtasks_.clear();
  posted_.clear();
  closing_handles_.clear();
}

void EventLoop::update_time() { now_ms_ = monotonic_ms(); }

bool EventLoop::alive() const {
  return active_handles_ > 0 || active_requests_ > 0 || !pending_.empty() ||
         !closing_handles_.empty() || live_immediates_ > 0;
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
    bool can_sleep = pending_.empty() && idle_handles_.empty() && live_immediates_ == 0;
    run_pending();
    run_phase_list<detail::kIdlePhase>(idle_handles_);
    run_phase_list<detail::kPreparePhase>(prepare_handles_);
    int timeout = 0;
    if ((mode == RunMode::kOnce && can_sleep) || mode == RunMode::kDefault) {
      timeout = backend_timeout();
    }
    poll(timeout);
    // Completions queued by the poll phase (write callbacks, say) run now, a few rounds.
    for (int round = 0; round < kMaxPendingRounds && !pending_.empty(); ++round) run_pending();
    run_immediates();
    run_phase_list<detail::kCheckPhase>(check_handles_);
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
  if (!pending_.empty() || !idle_handles_.empty() || !closing_handles_.empty()) return 0;
  if (live_immediates_ > 0) return 0;
  if (timers_->empty()) return -1;
  std::uint64_t deadline = timers_->top()->deadline_;
  if (deadline <= now_ms_) return 0;
  std::uint64_t diff = deadline - now_ms_;
  return diff > static_cast<std::uint64_t>(INT_MAX) ? INT_MAX : static_cast<int>(diff);
}

void EventLoop::run_timers() {
  // libuv >= 1.45: take every due timer out first, then run them. A timer (re)started by one
  // of these callbacks goes into the heap and waits for the next timers phase, even at 0 ms.
  detail::List ready;
  while (!timers_->empty()) {
    Timer* t = timers_->top();
    if (t->deadline_ > now_ms_) break;
    timers_->remove(t);
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
      t->start_id_ = timer_counter_++;
      timers_->push(t);
      t->activate();
    }
    dispatch(t, t->cb_, "timer");
  }
}

void EventLoop::run_pending() {
  if (pending_.empty()) return;
  // Only what was pending when the phase began; new deferrals wait for the next round.
  std::deque<Callback> batch;
  batch.swap(pending_);
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
  // Immediates queued by these callbacks go to immediates_, the next iteration's batch, as
  // setImmediate does. Each runs in place; no callback is moved more than once.
  if (immediates_.empty()) return;
  running_immediates_.swap(immediates_);
  for (running_index_ = 0; running_index_ < running_immediates_.size(); ++running_index_) {
    Callback& cb = running_immediates_[running_index_].cb;
    if (!cb) continue;  // cleared
    --live_immediates_;
    invoke("immediate", cb);
    cb = nullptr;
  }
  running_immediates_.clear();  // keeps its capacity for the next iteration
  running_index_ = 0;
}

void EventLoop::run_closing() {
  // Handles closed by these close callbacks are closed in the next iteration's close phase.
  detail::List batch;
  batch.splice_back(closing_handles_);
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
  if (!poller_changes_.empty()) apply_poller_changes();
  int n;
  do {
    n = ::epoll_wait(epoll_.get(), events_.data(), static_cast<int>(events_.size()), timeout_ms);
  } while (n < 0 && errno == EINTR && timeout_ms == 0);
  if (n < 0) {
    if (errno == EINTR) return;  // a signal: the loop goes on to its timers
    fatal(Error::from_errno("epoll_wait").message());
  }
  events_count_ = n;
  bool woken = false;
  for (int i = 0; i < n; ++i) {
    void* ptr = events_[static_cast<std::size_t>(i)].data.ptr;
    if (ptr == nullptr) continue;  // its watcher was stopped by an earlier callback
    if (ptr == &wakeup_tag) {
      woken = true;
      continue;
    }
    std::uint32_t ev = events_[static_cast<std::size_t>(i)].events;
    auto* w = static_cast<IoWatcher*>(ptr);
    // An earlier callback of this batch may have narrowed the interest (not yet told to epoll).
    std::uint32_t got =
        (((ev & EPOLLIN) ? kReadable : 0u) | ((ev & EPOLLOUT) ? kWritable : 0u)) & w->events_;
    if (ev & (EPOLLERR | EPOLLHUP)) {
      // Let the owner find the error or EOF through the read or write it was waiting for.
      got |= w->events_ | ((ev & EPOLLHUP) ? kHangup : 0u) | ((ev & EPOLLERR) ? kIoError : 0u);
    }
    if (got == 0) continue;
    dispatch(w, w->cb_, "io", got);
  }
  events_count_ = 0;
  if (woken) {
    std::uint64_t value;
    [[maybe_unused]] ssize_t r = ::read(wakeup_.get(), &value, sizeof(value));
    // Cleared before looking at the queues: a post() after this point writes the eventfd
    // again, so nothing posted can be missed.
    wakeup_pending_.store(false, std::memory_order_seq_cst);
    drain_posted();
    run_asyncs();
  }
  if (static_cast<std::size_t>(n) == events_.size() && events_.size() < kMaxEvents) {
    events_.resize(events_.size() * 2);
  }
}

Status EventLoop::poller_add(IoWatcher* w, std::uint32_t events) {
  epoll_event e{};
  e.events = to_epoll(events) | (w->exclusive_ ? EPOLLEXCLUSIVE : 0u);
  e.data.ptr = w;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, w->fd(), &e) < 0) {
    return fail_errno(fmt::format("epoll_ctl add fd {}", w->fd()));
  }
  return {};
}

void EventLoop::poller_modify_later(IoWatcher* w) {
  w->change_pending_ = true;
  poller_changes_.push_back(w);
}

void EventLoop::apply_poller_changes() {
  for (IoWatcher* w : poller_changes_) {
    w->change_pending_ = false;
    if (w->registered_ == 0 || w->events_ == w->registered_) continue;
    epoll_event e{};
    e.events = to_epoll(w->events_);
    e.data.ptr = w;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, w->fd(), &e) < 0) {
      // Only a descriptor closed behind the watcher's back gets here: say so, and stop asking.
      log_error("epoll_ctl mod fd {}: {} (was it closed before its watcher stopped?)", w->fd(),
                Error::from_errno("").message());
      continue;
    }
    w->registered_ = w->events_;
  }
  poller_changes_.clear();
}

void EventLoop::poller_forget(IoWatcher* w) {
  // Fails with EBADF if the owner closed the descriptor first; the kernel dropped it then.
  epoll_event e{};
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, w->fd(), &e);
  for (int i = 0; i < events_count_; ++i) {
    if (events_[static_cast<std::size_t>(i)].data.ptr == w) {
      events_[static_cast<std::size_t>(i)].data.ptr = nullptr;
    }
  }
  if (w->change_pending_) {
    w->change_pending_ = false;
    poller_changes_.erase(std::find(poller_changes_.begin(), poller_changes_.end(), w));
  }
}

void EventLoop::next_tick(Callback cb) {
  check_thread("EventLoop::next_tick called off the loop thread");
  ticks_.push_back(std::move(cb));
}

void EventLoop::queue_microtask(Callback cb) {
  check_thread("EventLoop::queue_microtask called off the loop thread");
  microtasks_.push_back(std::move(cb));
}

ImmediateId EventLoop::set_immediate(Callback cb) {
  check_thread("EventLoop::set_immediate called off the loop thread");
  ImmediateId id = next_immediate_id_++;
  immediates_.emplace_back(id, std::move(cb));
  ++live_immediates_;
  return id;
}

bool EventLoop::clear_immediate(ImmediateId id) {
  auto clear_in = [this, id](std::vector<Immediate>& v, std::size_t from) {
    auto it = std::lower_bound(v.begin() + static_cast<std::ptrdiff_t>(from), v.end(), id,
                               [](const Immediate& im, ImmediateId x) { return im.id < x; });
    if (it == v.end() || it->id != id || !it->cb) return false;
    it->cb = nullptr;
    --live_immediates_;
    return true;
  };
  // Not yet run in the batch being run (only entries after the running one), or queued.
  std::size_t from = running_immediates_.empty() ? 0 : running_index_ + 1;
  return (from < running_immediates_.size() && clear_in(running_immediates_, from)) ||
         clear_in(immediates_, 0);
}

void EventLoop::defer(Callback cb) {
  check_thread("EventLoop::defer called off the loop thread");
  pending_.push_back(std::move(cb));
}

void EventLoop::post(Callback cb) {
  {
    std::lock_guard<std::mutex> lock(posted_mutex_);
    posted_.push_back(std::move(cb));
  }
  wake();
}

void EventLoop::wake() {
  if (wakeup_pending_.exchange(true, std::memory_order_seq_cst)) return;
  std::uint64_t one = 1;
  // EAGAIN only when the counter is near 2^64: the loop is awake anyway.
  [[maybe_unused]] ssize_t r = ::write(wakeup_.get(), &one, sizeof(one));
}

void EventLoop::drain_posted() {
  {
    std::lock_guard<std::mutex> lock(posted_mutex_);
    posted_batch_.swap(posted_);
  }
  for (Callback& cb : posted_batch_) invoke("posted", cb);
  posted_batch_.clear();
}

void EventLoop::run_asyncs() {
  detail::List batch;
  batch.splice_back(async_handles_);
  while (!batch.empty()) {
    detail::ListNode* node = batch.front();
    async_handles_.push_back(node);
    auto* a = static_cast<Async*>(node->owner);
    if (a->pending_.exchange(false, std::memory_order_acq_rel)) dispatch(a, a->cb_, "async");
  }
}

void EventLoop::drain_ticks_and_microtasks() {
  if (draining_) return;  // the outer drain picks up whatever this callback queued
  draining_ = true;
  // Node's processTicksAndRejections: every tick (also those queued by ticks), then every
  // microtask (also those queued by microtasks), and again while microtasks queued ticks.
  do {
    while (!ticks_.empty()) {
      Callback cb = std::move(ticks_.front());
      ticks_.pop_front();
      try {
        cb();
      } catch (...) {
        on_callback_exception("next-tick");
      }
    }
    while (!microtasks_.empty()) {
      Callback cb = std::move(microtasks_.front());
      microtasks_.pop_front();
      try {
        cb();
      } catch (...) {
        on_callback_exception("microtask");
      }
    }
  } while (!ticks_.empty());
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
