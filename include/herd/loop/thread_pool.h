// The thread pool: blocking or CPU-heavy work off the loop thread (uv_queue_work).
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

#include "herd/loop/event_loop.h"

namespace herd {

enum class WorkStatus {
  kOk,         // `work` ran
  kCancelled,  // cancelled before a pool thread took it; `work` never ran
};

namespace detail {
struct WorkItem;
}  // namespace detail

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
