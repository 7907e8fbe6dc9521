// PoolAccess: how the thread pool (src/loop/thread_pool.cc) and the loop reach each other's
// private parts: a request's links and state, a loop's completion list. Internal to src/loop.
#pragma once

#include "herd/loop/thread_pool.h"

namespace herd::detail {

struct PoolAccess {
  // Loop thread. Queues `w` on the pool (queue_work's body).
  static void submit(EventLoop& loop, Work& w);
  // Any thread. Hands a finished or cancelled request to its loop's completion list.
  static void complete(Work& w, WorkStatus status);
  // Loop thread, in the poll phase after a wake-up: runs after_work for every completed
  // request. Work queued by those callbacks reaches the pool at once, but sleeping pool threads
  // are woken once, when the whole batch has run, instead of once per request.
  static void run_completions(EventLoop& loop);
};

}  // namespace herd::detail
