#include "herd/loop/worker_pool.h"

#include <algorithm>
#include <exception>

namespace herd {
namespace {

struct TaskMessage {
  std::uint64_t id;
  WorkerPool::Task task;
};

struct ResultMessage {
  std::uint64_t id;
  std::expected<Message, std::string> result;
};

}  // namespace

WorkerPool::WorkerPool(EventLoop& owner, std::size_t threads) : owner_(owner) {
  threads = std::max<std::size_t>(threads, 1);
  workers_.resize(threads);
  for (std::size_t i = 0; i < threads; ++i) {
    auto w = std::make_unique<Worker>(owner, [](WorkerScope& scope) {
      scope.on_message([&scope](Message m) {
        TaskMessage* t = m.get<TaskMessage>();
        if (t == nullptr) return;
        ResultMessage r{t->id, std::unexpected(std::string("task produced no result"))};
        // A task's exception belongs to that task's caller, not to the worker.
        try {
          r.result = t->task();
        } catch (const std::exception& e) {
          r.result = std::unexpected(std::string(e.what()));
        } catch (...) {
          r.result = std::unexpected(std::string("task threw a non-standard exception"));
        }
        scope.post_message(Message::of(std::move(r)));
      });
    });
    w->on_message([this, i](Message m) { on_result(i, std::move(m)); });
    w->on_exit([this, i](int) {
      // Fail what was in flight on this worker; nothing else would ever answer it.
      std::vector<std::uint64_t> lost;
      for (auto& [id, entry] : pending_) {
        if (entry.first == i) lost.push_back(id);
      }
      for (std::uint64_t id : lost) {
        auto node = pending_.extract(id);
        owner_.unregister_request();
        node.mapped().second(std::unexpected(std::string("worker exited before the task ended")));
      }
      workers_[i].in_flight = 0;
    });
    w->unref();
    workers_[i].worker = std::move(w);
  }
}

WorkerPool::~WorkerPool() {
  for (auto& s : workers_) s.worker->terminate();
  workers_.clear();  // joins each thread
  for (std::size_t n = pending_.size(); n > 0; --n) owner_.unregister_request();
}

void WorkerPool::submit(Task task, Done done) {
  auto best = std::min_element(workers_.begin(), workers_.end(), [](const Slot& a, const Slot& b) {
    return a.in_flight < b.in_flight;
  });
  std::size_t slot = static_cast<std::size_t>(best - workers_.begin());
  std::uint64_t id = next_id_++;
  if (!best->worker->post_message(Message::of(TaskMessage{id, std::move(task)}))) {
    owner_.defer([done = std::move(done)]() mutable {
      done(std::unexpected(std::string("worker pool has stopped")));
    });
    return;
  }
  ++best->in_flight;
  pending_.emplace(id, std::make_pair(slot, std::move(done)));
  owner_.register_request();  // a task in flight keeps the owner's loop alive
}

void WorkerPool::on_result(std::size_t slot, Message m) {
  ResultMessage* r = m.get<ResultMessage>();
  if (r == nullptr) return;
  auto node = pending_.extract(r->id);
  if (node.empty()) return;
  --workers_[slot].in_flight;
  owner_.unregister_request();
  node.mapped().second(std::move(r->result));
}

}  // namespace herd
