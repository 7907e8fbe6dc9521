// EventLoop::Impl: the loop's containers, its I/O backend and its cross-thread queue, kept out
// of the public header. Only src/loop sees it: the loop itself and its friend handle types.
#pragma once

#include <cstddef>
#include <deque>
#include <mutex>
#include <vector>

#include "herd/base/detail/intrusive_list.h"
#include "herd/loop/event_loop.h"
#include "loop/poller.h"
#include "loop/timer_heap.h"

namespace herd {

struct EventLoop::Impl {
  struct Immediate {
    ImmediateId id;
    Callback cb;
  };

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
  // Immediates queued for the next check phase, and the batch the check phase is running. Both
  // are sorted by id (ids only grow), so clear_immediate() finds an entry by binary search.
  std::vector<Immediate> immediates;
  std::vector<Immediate> running_immediates;
  std::size_t running_index = 0;  // the next entry of running_immediates to run
  ImmediateId next_immediate_id = 1;

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
