#include "herd/loop/thread_pool.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "herd/base/log.h"

namespace herd {

namespace detail {

struct WorkItem {
  enum class State { kQueued, kRunning, kDone, kCancelled };

  EventLoop* loop;
  std::move_only_function<void()> work;
  std::move_only_function<void(WorkStatus)> after_work;
  // kQueued -> kRunning (a pool thread took it) or kQueued -> kCancelled (cancel won), decided
  // by one compare-and-swap, so neither side needs the pool's lock for it.
  std::atomic<State> state{State::kQueued};
};

}  // namespace detail

namespace {

constexpr std::size_t kDefaultThreads = 4;
constexpr std::size_t kMaxThreads = 1024;

// The process-wide pool. Threads are detached and the pool is never destroyed: work may still
// be queued when main() returns, and joining then could hang exit.
class Pool {
 public:
  explicit Pool(std::size_t threads) {
    // Pool threads block every signal (libuv does the same), so signals reach the loops.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (std::size_t i = 0; i < threads; ++i) std::thread([this] { worker(); }).detach();
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    size_ = threads;
  }

  std::size_t size() const { return size_; }

  void submit(std::shared_ptr<detail::WorkItem> item) {
    bool wake;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(std::move(item));
      // Only a sleeping thread needs a wake-up (a futex call); busy ones will look again.
      wake = idle_ > 0;
    }
    if (wake) cv_.notify_one();
  }

  bool cancel(const std::shared_ptr<detail::WorkItem>& item) {
    auto expected = detail::WorkItem::State::kQueued;
    // The item stays in the queue; the thread that dequeues it skips it. O(1) either way.
    if (!item->state.compare_exchange_strong(expected, detail::WorkItem::State::kCancelled)) {
      return false;
    }
    // after_work runs in a later iteration, never from inside cancel() (as libuv does).
    item->loop->post([item] { complete(item, WorkStatus::kCancelled); });
    return true;
  }

 private:
  static void complete(const std::shared_ptr<detail::WorkItem>& item, WorkStatus status) {
    EventLoop& loop = *item->loop;
    loop.unregister_request();
    auto after = std::move(item->after_work);
    item->work = nullptr;
    if (after) loop.invoke("after_work", [&] { after(status); });
  }

  void worker() {
    for (;;) {
      std::shared_ptr<detail::WorkItem> item;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        if (queue_.empty()) {
          ++idle_;
          cv_.wait(lock, [this] { return !queue_.empty(); });
          --idle_;
        }
        item = std::move(queue_.front());
        queue_.pop_front();
      }
      auto expected = detail::WorkItem::State::kQueued;
      if (!item->state.compare_exchange_strong(expected, detail::WorkItem::State::kRunning)) {
        continue;  // cancelled: its after_work was posted by cancel()
      }
      try {
        item->work();
      } catch (const std::exception& e) {
        fatal(fmt::format("uncaught exception in thread-pool work: {}", e.what()));
      } catch (...) {
        fatal("uncaught exception of a non-standard type in thread-pool work");
      }
      item->state.store(detail::WorkItem::State::kDone, std::memory_order_release);
      EventLoop* loop = item->loop;
      loop->post([item = std::move(item)] { complete(item, WorkStatus::kOk); });
    }
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<detail::WorkItem>> queue_;
  std::size_t size_ = 0;
  std::size_t idle_ = 0;  // threads waiting on cv_; guarded by mutex_
};

std::mutex g_pool_mutex;
std::atomic<Pool*> g_pool{nullptr};

void forget_pool_in_child() {
  // After fork() only the forking thread exists: the old pool's threads are gone and its
  // mutex may be held forever. The child starts a fresh pool on first use.
  g_pool.store(nullptr);
  new (&g_pool_mutex) std::mutex();
}

std::size_t configured_size() {
  std::string warning;
  std::size_t n = parse_thread_pool_size(std::getenv("HERD_THREADPOOL_SIZE"), &warning);
  if (!warning.empty()) log_warn("{}", warning);
  return n;
}

Pool& pool() {
  // The fast path takes no lock: the pool exists after the first call.
  if (Pool* p = g_pool.load(std::memory_order_acquire); p != nullptr) return *p;
  std::lock_guard<std::mutex> lock(g_pool_mutex);
  if (g_pool.load() == nullptr) {
    static bool atfork_registered = [] {
      pthread_atfork(nullptr, nullptr, forget_pool_in_child);
      return true;
    }();
    (void)atfork_registered;
    g_pool.store(new Pool(configured_size()), std::memory_order_release);
  }
  return *g_pool.load();
}

}  // namespace

std::size_t parse_thread_pool_size(const char* value, std::string* warning) {
  warning->clear();
  if (value == nullptr || *value == '\0') return kDefaultThreads;
  errno = 0;
  char* end = nullptr;
  long long n = std::strtoll(value, &end, 10);
  if (end == value || *end != '\0' || errno == ERANGE) {
    *warning = fmt::format("HERD_THREADPOOL_SIZE=\"{}\" is not a whole number; using {} threads",
                           value, kDefaultThreads);
    return kDefaultThreads;
  }
  if (n < 1) {
    *warning = fmt::format("HERD_THREADPOOL_SIZE={} is below 1; using 1 thread", value);
    return 1;
  }
  if (n > static_cast<long long>(kMaxThreads)) {
    *warning = fmt::format("HERD_THREADPOOL_SIZE={} is above {}; using {} threads", value,
                           kMaxThreads, kMaxThreads);
    return kMaxThreads;
  }
  return static_cast<std::size_t>(n);
}

std::size_t thread_pool_size() { return pool().size(); }

WorkRequest queue_work(EventLoop& loop, std::move_only_function<void()> work,
                       std::move_only_function<void(WorkStatus)> after_work) {
  loop.check_thread("queue_work called off the loop thread");
  auto item = std::make_shared<detail::WorkItem>();
  item->loop = &loop;
  item->work = std::move(work);
  item->after_work = std::move(after_work);
  loop.register_request();
  pool().submit(item);
  return WorkRequest(std::move(item));
}

bool WorkRequest::cancel() {
  if (!item_) return false;
  item_->loop->check_thread("WorkRequest::cancel called off the loop thread");
  return pool().cancel(item_);
}

}  // namespace herd
