// EventLoop::Impl: the loop's containers, its I/O backend and its cross-thread queue, kept out
// of the public header. Only src/loop sees it: the loop itself and its friend handle types.
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "herd/base/detail/intrusive_list.h"
#include "herd/loop/event_loop.h"
#include "loop/poller.h"
#include "loop/timer_heap.h"

namespace herd {

struct EventLoop::Impl {
  detail::Poller poller;
  detail::TimerHeap timers;
  std::uint64_t timer_counter = 0;  // start order, the tie-break for equal deadlines

  detail::List idle_handles;
  detail::List prepare_handles;
  detail::List check_handles;
  detail::List closing_handles;
  detail::List async_handles;  // woken through the poller's wake()

  std::deque<Callback> pending;
  std::deque<Callback> ticks;
  std::deque<Callback> microtasks;
  // Every immediate node the loop has (queued, running or free): fixed chunks, so nodes never
  // move and an id's index finds its node (index = chunk * kImmediateChunk + offset).
  static constexpr std::size_t kImmediateChunk = 64;
  std::vector<std::unique_ptr<detail::ImmediateNode[]>> immediate_chunks;

  // Cross-thread queue: post() appends under the mutex and wakes the poller.
  std::mutex posted_mutex;
  std::vector<Callback> posted;
  std::vector<Callback> posted_batch;  // reused by drain_posted, so draining does not allocate

  // Thread-pool completions (herd::Work, finished or cancelled): pool threads append under the
  // lock and wake the poller; the poll phase takes the whole list at once.
  std::mutex work_done_mutex;
  detail::List work_done;
  // While after_work callbacks run, the pool threads' wake-ups for work they queue are held and
  // given once at the end (src/loop/pool_access.h).
  bool running_completions = false;
  std::size_t held_wake_ups = 0;
};

}  // namespace herd
