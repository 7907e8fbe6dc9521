// The thread pool: blocking or CPU-heavy work off the loop thread (uv_queue_work).
//
// Two forms: `Work`, a request the caller owns and derives from (libuv's uv_work_t: queueing it
// allocates nothing), and queue_work() with two functions, which allocates one request per call.
// Both complete the same way: a pool thread appends the finished request to its loop's
// completion list (intrusive, under one lock) and wakes the loop once; the loop drains the whole
// list in the poll phase and runs each `after_work` there.
//
// One pool per process, created on first use with HERD_THREADPOOL_SIZE threads (default 4,
// clamped to 1..1024; a value that is not a number is rejected with a warning and the default
// is used). Pool threads block every signal, and never touch loop objects: `work` runs on a pool
// thread and must only touch what it owns; `after_work` runs on the loop's thread.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "herd/base/detail/intrusive_list.h"
#include "herd/loop/event_loop.h"

namespace herd {

enum class WorkStatus {
  kOk,         // `work` ran
  kCancelled,  // cancelled before a pool thread took it; `work` never ran
};

namespace detail {
struct WorkItem;
struct PoolAccess;
class Pool;
}  // namespace detail

// A piece of thread-pool work owned by the caller. Derive from it and implement work() (runs on
// a pool thread; it must only touch what the request owns) and after_work() (runs on the loop's
// thread). queue_work(loop, request) queues it without allocating. The request must stay alive
// and in place from queue_work() until its after_work() is called; after_work() may destroy it,
// or queue it again. While in flight it keeps the loop alive.
class Work {
 public:
  Work() = default;
  Work(const Work&) = delete;
  Work& operator=(const Work&) = delete;
  // Destroying a request in flight is a bug (a pool thread or the loop would later use freed
  // memory): it aborts with a message.
  virtual ~Work();

  // Loop thread only. Cancels the work if no pool thread has started it: then after_work() runs
  // with WorkStatus::kCancelled in a later iteration (never from inside cancel()), and this
  // returns true. Returns false if the work started, finished, was already cancelled or was
  // never queued.
  bool cancel();
  // Loop thread only. True from queue_work() until after_work() is called.
  bool in_flight() const { return loop_ != nullptr; }

 protected:
  // On a pool thread. An exception escaping it aborts the process with a message.
  virtual void work() = 0;
  // On the loop's thread, as a loop callback (ticks and microtasks are drained after it).
  virtual void after_work(WorkStatus status) = 0;

 private:
  friend struct detail::PoolAccess;
  friend class detail::Pool;

  EventLoop* loop_ = nullptr;  // set while in flight; written on the loop thread only
  // In the pool's queue while queued, in the loop's completion list once done or cancelled.
  detail::ListNode node_{this};
  bool queued_ = false;  // in the pool's queue, not yet taken; guarded by the pool's lock
  WorkStatus status_ = WorkStatus::kOk;
};

// Loop thread only. Queues `request` (see Work). Queueing a request that is in flight aborts.
void queue_work(EventLoop& loop, Work& request);

// Refers to one queued piece of work. Cheap to copy; stays valid after the work is done.
class WorkRequest {
 public:
  WorkRequest() = default;
  // Loop thread only. Cancels the work if no pool thread has started it: then `after_work`
  // runs with WorkStatus::kCancelled in a later iteration, and this returns true. Returns false
  // if the work started, finished or was already cancelled.
  bool cancel();

 private:
  friend WorkRequest queue_work(EventLoop&, std::move_only_function<void()>,
                                std::move_only_function<void(WorkStatus)>);
  explicit WorkRequest(std::shared_ptr<detail::WorkItem> item) : item_(std::move(item)) {}
  std::shared_ptr<detail::WorkItem> item_;
};

// Loop thread only. Runs `work` on a pool thread, then `after_work(status)` on the loop's thread.
// The request keeps the loop alive until `after_work` has run. An exception escaping `work`
// aborts the process with a message (a noexcept boundary, like every loop callback).
WorkRequest queue_work(EventLoop& loop, std::move_only_function<void()> work,
                       std::move_only_function<void(WorkStatus)> after_work);

// The number of pool threads (reads the configuration if the pool does not exist yet).
std::size_t thread_pool_size();

// Parses a HERD_THREADPOOL_SIZE value. Returns the size to use and, in `warning`, what was wrong
// with the value when it was clamped or rejected. Null or empty means the default.
std::size_t parse_thread_pool_size(const char* value, std::string* warning);

}  // namespace herd
