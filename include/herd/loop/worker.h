// Worker: a thread with its own EventLoop, for CPU-bound work (Node's worker_threads).
//
// The owner and the worker talk only by messages, which are moved (see message.h), never
// shared. On the owner's loop, a Worker reports on_message for each message the worker posted,
// then at most one on_error (an exception escaped the worker's body or one of its loop
// callbacks), then exactly one on_exit with the exit code (0, the code given to
// WorkerScope::exit, or 1 after an error or terminate()). While the worker runs it keeps the
// owner's loop alive, unless unref()'d.
//
// Inside the worker, the body gets a WorkerScope: its loop, post_message() to the owner, and
// on_message() for the owner's messages. The body sets up what it needs and either calls
// scope.run() itself (handles it keeps on its stack live until run() returns), or just
// registers on_message and returns: the worker then keeps serving messages until close() or
// exit(). The worker ends when its loop has nothing left to do.
//
// terminate() stops the worker's loop at the end of its current iteration. Code that computes
// for a long time without returning to the loop cannot be interrupted from outside; it should
// look at scope.terminating() now and then.
//
// Threads: every Worker method is for the owner's loop thread. WorkerScope methods are for the
// worker's thread.
#pragma once

#include <atomic>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "herd/loop/async.h"
#include "herd/loop/event_loop.h"
#include "herd/loop/message.h"

namespace herd {

namespace detail {
struct WorkerShared;
}  // namespace detail

class WorkerScope {
 public:
  EventLoop& loop() { return loop_; }
  // Sends `m` to the owner's on_message.
  void post_message(Message m);
  // Receives the owner's messages; while set (and not close()d), the worker stays alive.
  void on_message(std::move_only_function<void(Message)> cb);
  // Stops listening for messages: the worker ends once its loop has nothing else to do.
  void close();
  // Ends the worker with `code` at the end of the current loop iteration.
  void exit(int code);
  // Runs the worker's loop until it has nothing left to do, exit() or terminate().
  void run();
  // True once the owner called terminate() (or exit() was called).
  bool terminating() const;

 private:
  friend class Worker;
  WorkerScope(EventLoop& loop, std::shared_ptr<detail::WorkerShared> shared, Async& inbox)
      : loop_(loop), shared_(std::move(shared)), inbox_(inbox) {}
  void deliver();

  EventLoop& loop_;
  std::shared_ptr<detail::WorkerShared> shared_;
  Async& inbox_;
  std::move_only_function<void(Message)> on_message_;
};

class Worker {
 public:
  using Body = std::move_only_function<void(WorkerScope&)>;

  // Starts a thread that runs `body` (with every signal blocked, so signals reach the loops
  // that watch them).
  Worker(EventLoop& owner, Body body);
  // Terminates the worker if it still runs and waits for its thread.
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Sends `m` to the worker's on_message. Messages sent before the worker set on_message wait.
  // Returns false once the worker has exited (the message is dropped).
  bool post_message(Message m);
  void on_message(std::move_only_function<void(Message)> cb) { on_message_ = std::move(cb); }
  void on_error(std::move_only_function<void(std::exception_ptr, const std::string&)> cb) {
    on_error_ = std::move(cb);
  }
  void on_exit(std::move_only_function<void(int code)> cb) { on_exit_ = std::move(cb); }
  // Asks the worker to stop (exit code 1). Does not wait; on_exit reports the end.
  void terminate();

  bool running() const { return !exit_reported_; }
  // Lets the owner's loop end while the worker still runs (Node's worker.unref()).
  void unref() { events_.unref(); }
  void ref() { events_.ref(); }

 private:
  void on_events();

  EventLoop& owner_;
  std::shared_ptr<detail::WorkerShared> shared_;
  Async events_;  // the worker wakes the owner through it
  std::move_only_function<void(Message)> on_message_;
  std::move_only_function<void(std::exception_ptr, const std::string&)> on_error_;
  std::move_only_function<void(int)> on_exit_;
  bool exit_reported_ = false;
  std::thread thread_;
};

}  // namespace herd
