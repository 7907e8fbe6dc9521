#include "loop/epoll_poller.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace herd::detail {

char epoll_wakeup_tag;

namespace {

constexpr std::size_t kInitialEvents = 64;
constexpr std::size_t kMaxEvents = 4096;
// expect_wake()'s bound: a few microseconds of pause instructions (about 40 ns each on x86).
constexpr int kWakeSpins = 100;

std::uint32_t to_epoll(std::uint32_t events) {
  return ((events & kReadable) ? EPOLLIN : 0u) | ((events & kWritable) ? EPOLLOUT : 0u);
}

}  // namespace

EpollPoller::EpollPoller() {
  auto ep = Fd::epoll();
  if (!ep) fatal("EventLoop: " + ep.error().message());
  epoll_ = std::move(*ep);
  auto ev = Fd::eventfd();
  if (!ev) fatal("EventLoop: " + ev.error().message());
  wakeup_ = std::move(*ev);
  // Edge-triggered: every write to the eventfd is a new edge, reported by one epoll_wait, so the
  // loop never reads the eventfd back (one system call fewer per wake-up than libuv, which
  // reads it level-triggered). The counter only grows; see wake() for when it is full.
  epoll_event e{};
  e.events = EPOLLIN | EPOLLET;
  e.data.ptr = &epoll_wakeup_tag;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wakeup_.get(), &e) < 0) {
    fatal("EventLoop: " + Error::from_errno("epoll_ctl add eventfd").message());
  }
  events_.resize(kInitialEvents);
}

int EpollPoller::epoll_wait_retrying(int timeout_ms) {
  int n;
  do {
    n = ::epoll_wait(epoll_.get(), events_.data(), static_cast<int>(events_.size()), timeout_ms);
  } while (n < 0 && errno == EINTR && timeout_ms == 0);
  if (n < 0) {
    if (errno == EINTR) return 0;  // a signal: the loop goes on to its timers
    fatal(Error::from_errno("epoll_wait").message());
  }
  return n;
}

void EpollPoller::after_dispatch(int n) {
  events_count_ = 0;
  // A full batch suggests more were ready: take more next time, up to a bound.
  if (static_cast<std::size_t>(n) == events_.size() && events_.size() < kMaxEvents) {
    events_.resize(events_.size() * 2);
  }
}

void EpollPoller::clear_wakeup() {
  // Cleared before the loop looks at its queues: a wake() after this point writes the eventfd
  // again (a new edge), so nothing posted can be missed.
  wakeup_pending_.store(false, std::memory_order_seq_cst);
}

bool EpollPoller::expect_wake() {
  // Cross-thread traffic comes in bursts: a thread that just woke the loop (a pool thread with
  // its next completion, a sender answering the loop's reply) often wakes it again within a
  // microsecond or two, and going to sleep in epoll_wait for that costs a context switch both
  // ways (and, on a busy machine, waiting for the scheduler). So, only right after a wake-up,
  // the loop watches the wake-up flag for a bounded moment before blocking; if a wake() starts,
  // it polls without blocking instead. An idle loop, or one woken only by I/O, never spins.
  if (!last_wait_woken_) return false;
  last_wait_woken_ = false;
  for (int i = 0; i < kWakeSpins; ++i) {
    if (wakeup_pending_.load(std::memory_order_relaxed)) return true;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }
  return wakeup_pending_.load(std::memory_order_relaxed);
}

void EpollPoller::wake() {
  if (wakeup_pending_.exchange(true, std::memory_order_seq_cst)) return;
  std::uint64_t one = 1;
  if (::write(wakeup_.get(), &one, sizeof(one)) < 0 && errno == EAGAIN) {
    // The counter is full (2^64 - 2 wake-ups without a read): empty it and write again, which
    // is still an edge for the loop.
    std::uint64_t value;
    [[maybe_unused]] ssize_t r = ::read(wakeup_.get(), &value, sizeof(value));
    r = ::write(wakeup_.get(), &one, sizeof(one));
  }
}

Status EpollPoller::add(IoWatcher* w, std::uint32_t events) {
  epoll_event e{};
  e.events = to_epoll(events) | (w->exclusive_ ? EPOLLEXCLUSIVE : 0u);
  e.data.ptr = w;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, w->fd(), &e) < 0) {
    return fail_errno(fmt::format("epoll_ctl add fd {}", w->fd()));
  }
  return {};
}

void EpollPoller::modify_later(IoWatcher* w) {
  w->change_pending_ = true;
  changes_.push_back(w);
}

void EpollPoller::apply_changes() {
  for (IoWatcher* w : changes_) {
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
  changes_.clear();
}

void EpollPoller::forget(IoWatcher* w) {
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
    changes_.erase(std::find(changes_.begin(), changes_.end(), w));
  }
}

}  // namespace herd::detail
