// EpollPoller: the loop's I/O backend on Linux. One epoll instance (level-triggered), the
// IoWatchers registered in it, and the eventfd that wakes the loop from other threads.
//
// The poller knows watchers only by their descriptor, their interest and two bookkeeping fields;
// it never runs a callback. wait() hands each ready watcher to the loop's function, which runs
// it: the loop owns the order of callbacks and their noexcept boundary, the poller owns epoll.
//
// Threads: wake() may be called from any thread; everything else on the loop's thread.
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "herd/base/error.h"
#include "herd/base/fd.h"
#include "herd/base/log.h"
#include "herd/loop/io_watcher.h"

namespace herd::detail {

class EpollPoller {
 public:
  // Creates the epoll instance and the eventfd. These only fail when the process is out of
  // descriptors or memory; the constructor then aborts with a message naming the cause.
  EpollPoller();
  EpollPoller(const EpollPoller&) = delete;
  EpollPoller& operator=(const EpollPoller&) = delete;

  // Adding and removing reach epoll at once, so errors are reported where they happen and a
  // closed descriptor never lingers. A change of interest on a registered descriptor is applied
  // just before the next epoll_wait, as libuv does, so turning write interest on and off within
  // one iteration costs no system call.
  //
  // Registers `w` for `events` (kReadable | kWritable); fails as epoll_ctl does.
  Status add(IoWatcher* w, std::uint32_t events);
  // Queues the change of `w`'s interest (w->events_) for the next wait().
  void modify_later(IoWatcher* w);
  // Unregisters `w`; a ready event of the batch being dispatched is dropped, so no callback runs
  // for a watcher stopped or destroyed meanwhile (libuv's invalidate_fd).
  void forget(IoWatcher* w);

  // Waits up to `timeout_ms` (-1: no limit) and calls `on_ready(IoWatcher*, events)` for each
  // ready watcher, with kReadable/kWritable/kHangup/kIoError bits. Returns true when wake() was
  // called since the last wait() that returned true.
  template <class F>
  bool wait(int timeout_ms, F&& on_ready);

  // Thread-safe. Makes the current or next wait() return true. Coalesces: only the first call
  // after a wait() that returned true writes to the eventfd (one write per burst of wake-ups,
  // as libuv's uv_async_send); the eventfd is edge-triggered, so the loop never reads it.
  void wake();

 private:
  int epoll_wait_retrying(int timeout_ms);
  // Before blocking right after a wake-up: true if another wake() begins within a short, bounded
  // spin (see epoll_poller.cc).
  bool expect_wake();
  void apply_changes();
  void after_dispatch(int n);
  void clear_wakeup();

  Fd epoll_;
  Fd wakeup_;  // eventfd, registered edge-triggered in epoll_ under &epoll_wakeup_tag
  std::atomic<bool> wakeup_pending_{false};
  bool last_wait_woken_ = false;  // the previous wait() returned a wake-up
  // The events of the epoll_wait being dispatched: forget() nulls a watcher's entries.
  std::vector<epoll_event> events_;
  int events_count_ = 0;
  std::vector<IoWatcher*> changes_;  // registered watchers whose interest changed
};

// The wake-up eventfd's epoll entry carries this address instead of a watcher's.
extern char epoll_wakeup_tag;

template <class F>
bool EpollPoller::wait(int timeout_ms, F&& on_ready) {
  if (!changes_.empty()) apply_changes();
  if (timeout_ms != 0 && expect_wake()) timeout_ms = 0;
  int n = epoll_wait_retrying(timeout_ms);
  events_count_ = n;
  bool woken = false;
  for (int i = 0; i < n; ++i) {
    const epoll_event& e = events_[static_cast<std::size_t>(i)];
    void* ptr = e.data.ptr;
    if (ptr == nullptr) continue;  // its watcher was stopped by an earlier callback
    if (ptr == &epoll_wakeup_tag) {
      woken = true;
      continue;
    }
    std::uint32_t ev = e.events;
    auto* w = static_cast<IoWatcher*>(ptr);
    // An earlier callback of this batch may have narrowed the interest (not yet told to epoll).
    std::uint32_t got =
        (((ev & EPOLLIN) ? kReadable : 0u) | ((ev & EPOLLOUT) ? kWritable : 0u)) & w->events_;
    if (ev & (EPOLLERR | EPOLLHUP)) {
      // Let the owner find the error or EOF through the read or write it was waiting for.
      got |= w->events_ | ((ev & EPOLLHUP) ? kHangup : 0u) | ((ev & EPOLLERR) ? kIoError : 0u);
    }
    if (got != 0) on_ready(w, got);
  }
  after_dispatch(n);
  last_wait_woken_ = woken;
  if (woken) clear_wakeup();
  return woken;
}

}  // namespace herd::detail
