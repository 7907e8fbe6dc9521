// WorkerPool: a fixed set of worker threads that run tasks for the owner's loop, e.g. the
// CPU-heavy part of HTTP requests. Each task goes to the worker with the fewest tasks in flight;
// its result (or the exception it threw) comes back to the owner's loop as a callback.
//
// Unlike queue_work (the shared thread pool, meant for short blocking calls), a WorkerPool's
// threads are the program's own: a long computation there never delays DNS or file work.
//
// Threads: owner's loop thread only. Tasks run on the workers' threads and must only use what
// they own (their captures, moved in).
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "herd/loop/event_loop.h"
#include "herd/loop/message.h"
#include "herd/loop/worker.h"

namespace herd {

class WorkerPool {
 public:
  using Task = std::move_only_function<Message()>;
  // The task's result, or the text of the exception it threw.
  using Done = std::move_only_function<void(std::expected<Message, std::string>)>;

  // Starts `threads` workers (at least 1). Idle workers do not keep the owner's loop alive.
  WorkerPool(EventLoop& owner, std::size_t threads);
  // Terminates the workers (tasks in flight get "terminated") and joins them.
  ~WorkerPool();

  void submit(Task task, Done done);
  std::size_t size() const { return workers_.size(); }
  std::size_t in_flight() const { return pending_.size(); }

 private:
  struct Slot {
    std::unique_ptr<Worker> worker;
    std::size_t in_flight = 0;
  };

  void on_result(std::size_t slot, Message m);

  EventLoop& owner_;
  std::vector<Slot> workers_;
  std::unordered_map<std::uint64_t, std::pair<std::size_t, Done>> pending_;
  std::uint64_t next_id_ = 1;
};

}  // namespace herd
