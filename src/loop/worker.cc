#include "herd/loop/worker.h"

#include <pthread.h>
#include <signal.h>

#include <deque>
#include <mutex>
#include <optional>

#include "herd/base/log.h"

namespace herd {

namespace detail {

// What the owner and the worker thread share. Every field is guarded by `mutex`, except
// `terminating`, which the worker's CPU-bound code may poll.
struct WorkerShared {
  std::mutex mutex;
  std::deque<Message> to_worker;
  std::deque<Message> to_owner;
  EventLoop* worker_loop = nullptr;  // set while the worker's loop exists
  Async* inbox = nullptr;            // likewise
  Async* owner_events = nullptr;     // the owner's Async; lives until the thread is joined
  bool exited = false;
  int exit_code = 0;
  bool exit_requested = false;
  std::optional<std::pair<std::exception_ptr, std::string>> error;
  std::atomic<bool> terminating{false};

  // Caller holds the mutex.
  void wake_owner() { owner_events->send(); }
};

}  // namespace detail

void WorkerScope::post_message(Message m) {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  shared_->to_owner.push_back(std::move(m));
  shared_->wake_owner();
}

void WorkerScope::on_message(std::move_only_function<void(Message)> cb) {
  on_message_ = std::move(cb);
  if (on_message_) {
    inbox_.ref();
    inbox_.send();  // deliver what the owner sent before we listened
  } else {
    inbox_.unref();
  }
}

void WorkerScope::close() {
  on_message_ = nullptr;
  inbox_.unref();
}

void WorkerScope::exit(int code) {
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    if (!shared_->exit_requested) {
      shared_->exit_requested = true;
      shared_->exit_code = code;
    }
  }
  shared_->terminating = true;
  loop_.stop();
}

bool WorkerScope::terminating() const { return shared_->terminating.load(); }

void WorkerScope::run() {
  if (!terminating()) loop_.run();
}

void WorkerScope::deliver() {
  for (;;) {
    if (!on_message_) return;  // keep them queued until someone listens
    std::optional<Message> m;
    {
      std::lock_guard<std::mutex> lock(shared_->mutex);
      if (shared_->to_worker.empty()) return;
      m.emplace(std::move(shared_->to_worker.front()));
      shared_->to_worker.pop_front();
    }
    // Invoked directly: we are already inside the inbox Async's callback, a loop callback.
    on_message_(std::move(*m));
    if (terminating()) return;
  }
}

Worker::Worker(EventLoop& owner, Body body)
    : owner_(owner),
      shared_(std::make_shared<detail::WorkerShared>()),
      events_(owner, [this] { on_events(); }) {
  shared_->owner_events = &events_;
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  thread_ = std::thread([shared = shared_, body = std::move(body)]() mutable {
    EventLoop loop;
    loop.set_exception_handler([&](std::exception_ptr e, const std::string& what) {
      std::lock_guard<std::mutex> lock(shared->mutex);
      if (!shared->error) shared->error.emplace(e, what);
      shared->terminating = true;
    });
    std::optional<WorkerScope> scope;
    Async inbox(loop, [&] { scope->deliver(); });
    inbox.unref();  // only a message listener keeps the worker alive
    scope.emplace(WorkerScope(loop, shared, inbox));
    {
      std::lock_guard<std::mutex> lock(shared->mutex);
      shared->worker_loop = &loop;
      shared->inbox = &inbox;
    }
    if (!shared->terminating) {
      // The body is a callback like any other: what escapes it is reported, not fatal.
      loop.invoke("worker body", [&] { body(*scope); });
      if (!shared->terminating) loop.run();
    }
    {
      std::lock_guard<std::mutex> lock(shared->mutex);
      shared->worker_loop = nullptr;
      shared->inbox = nullptr;
    }
    scope->close();
    inbox.close();
    loop.run(RunMode::kNoWait);  // the close phase, and whatever the body left closing
    scope.reset();
    std::lock_guard<std::mutex> lock(shared->mutex);
    shared->exited = true;
    if (shared->error) {
      shared->exit_code = 1;
    } else if (!shared->exit_requested && shared->terminating) {
      shared->exit_code = 1;  // terminate()
    }
    shared->wake_owner();
  });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

Worker::~Worker() {
  if (thread_.joinable()) {
    terminate();
    thread_.join();
  }
}

bool Worker::post_message(Message m) {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  if (shared_->exited) return false;
  shared_->to_worker.push_back(std::move(m));
  if (shared_->inbox != nullptr) shared_->inbox->send();
  return true;
}

void Worker::terminate() {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  if (shared_->exited || shared_->terminating) return;
  shared_->terminating = true;
  if (shared_->worker_loop != nullptr) {
    EventLoop* loop = shared_->worker_loop;
    // Posted under the lock: the worker clears worker_loop under it before the loop dies.
    loop->post([loop] { loop->stop(); });
  }
}

void Worker::on_events() {
  // Messages first, in order; then, once the thread is done, the error and the exit.
  for (;;) {
    std::optional<Message> m;
    bool exited = false;
    {
      std::lock_guard<std::mutex> lock(shared_->mutex);
      if (!shared_->to_owner.empty()) {
        m.emplace(std::move(shared_->to_owner.front()));
        shared_->to_owner.pop_front();
      } else {
        exited = shared_->exited;
      }
    }
    if (m) {
      if (on_message_) on_message_(std::move(*m));
      continue;
    }
    if (!exited || exit_reported_) return;
    break;
  }
  thread_.join();
  exit_reported_ = true;
  events_.unref();
  int code;
  std::optional<std::pair<std::exception_ptr, std::string>> error;
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    code = shared_->exit_code;
    error = std::move(shared_->error);
  }
  if (error) {
    if (on_error_) {
      on_error_(error->first, error->second);
    } else {
      log_error("worker thread failed: {}", error->second);
    }
  }
  if (on_exit_) on_exit_(code);
}

}  // namespace herd
