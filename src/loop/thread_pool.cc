#include "herd/loop/thread_pool.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "herd/base/log.h"
#include "loop/event_loop_impl.h"
#include "loop/pool_access.h"

namespace herd {
namespace {

constexpr std::size_t kDefaultThreads = 4;
constexpr std::size_t kMaxThreads = 1024;

}  // namespace

namespace detail {

// queue_work()'s allocated request: the two functions, and a reference to itself that keeps it
// alive until after_work has run (WorkRequest handles may be dropped at any time).
struct WorkItem final : Work {
  std::move_only_function<void()> fn;
  std::move_only_function<void(WorkStatus)> after_fn;
  std::shared_ptr<WorkItem> self;

  void work() override { fn(); }
  void after_work(WorkStatus status) override {
    std::shared_ptr<WorkItem> keep = std::move(self);
    fn = nullptr;
    auto after = std::move(after_fn);
    if (after) after(status);
  }
};

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

  // Queues `w`. Wakes a sleeping thread for it unless `hold_wake_up`: then the caller calls
  // wake_threads() later, once for a whole batch.
  void submit(Work& w, bool hold_wake_up) {
    std::size_t wake;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      w.queued_ = true;
      queue_.push_back(&w.node_);
      if (hold_wake_up) return;
      wake = wakeable(1);
    }
    if (wake != 0) cv_.notify_one();
  }

  // Wakes up to `n` sleeping threads (work was queued for them with the wake-up held).
  void wake_threads(std::size_t n) {
    std::size_t wake;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      wake = wakeable(n);
    }
    for (std::size_t i = 0; i < wake; ++i) cv_.notify_one();
  }

  bool cancel(Work& w) {
    {
      // `queued` and the queue's links are the pool lock's: a pool thread takes a request out
      // under it, so either it did (too late to cancel) or the request leaves the queue here.
      std::lock_guard<std::mutex> lock(mutex_);
      if (!w.queued_) return false;
      w.queued_ = false;
      w.node_.unlink();
    }
    // after_work runs in a later iteration, never from inside cancel() (as libuv does).
    detail::PoolAccess::complete(w, WorkStatus::kCancelled);
    return true;
  }

 private:
  void worker() {
    for (;;) {
      Work* w;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        while (queue_.empty()) {
          ++idle_;
          cv_.wait(lock);
          --idle_;
          // A spurious wake-up may take another thread's share: then a later submit wakes
          // one thread too many, never one too few.
          if (waking_ > 0) --waking_;
        }
        detail::ListNode* node = queue_.front();
        node->unlink();
        w = static_cast<Work*>(node->owner);
        w->queued_ = false;
      }
      try {
        w->work();
      } catch (const std::exception& e) {
        fatal(fmt::format("uncaught exception in thread-pool work: {}", e.what()));
      } catch (...) {
        fatal("uncaught exception of a non-standard type in thread-pool work");
      }
      detail::PoolAccess::complete(*w, WorkStatus::kOk);
    }
  }

  // Under mutex_. How many of `n` new requests need a thread woken: only sleeping threads need
  // a wake-up (a futex call), and not those already woken for an earlier request; busy threads
  // look at the queue again before they sleep.
  std::size_t wakeable(std::size_t n) {
    std::size_t sleeping = idle_ - waking_;
    std::size_t wake = n < sleeping ? n : sleeping;
    waking_ += wake;
    return wake;
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  detail::List queue_;  // queued requests, oldest first; guarded by mutex_
  std::size_t size_ = 0;
  std::size_t idle_ = 0;    // threads waiting on cv_; guarded by mutex_
  std::size_t waking_ = 0;  // of those, the ones notified and not yet running; guarded by mutex_
};

}  // namespace detail

namespace {

using detail::Pool;

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

namespace detail {

void PoolAccess::submit(EventLoop& loop, Work& w) {
  loop.check_thread("queue_work called off the loop thread");
  if (w.loop_ != nullptr) fatal("queue_work: the herd::Work is already in flight");
  w.loop_ = &loop;
  loop.register_request();
  EventLoop::Impl& im = loop.impl();
  bool hold = im.running_completions;
  pool().submit(w, hold);
  if (hold) ++im.held_wake_ups;
}

void PoolAccess::complete(Work& w, WorkStatus status) {
  w.status_ = status;
  EventLoop::Impl& im = w.loop_->impl();
  bool first;
  {
    std::lock_guard<std::mutex> lock(im.work_done_mutex);
    first = im.work_done.empty();
    im.work_done.push_back(&w.node_);
  }
  // A non-empty list means a wake-up is already on its way, and the loop takes the whole list
  // when it comes.
  if (first) im.poller.wake();
}

void PoolAccess::run_completions(EventLoop& loop) {
  EventLoop::Impl& im = loop.impl();
  List batch;
  {
    std::lock_guard<std::mutex> lock(im.work_done_mutex);
    batch.splice_back(im.work_done);
  }
  im.running_completions = true;
  while (!batch.empty()) {
    ListNode* node = batch.front();
    node->unlink();
    // Out of flight before its callback runs: after_work may destroy or queue it again.
    Work* w = static_cast<Work*>(node->owner);
    w->loop_ = nullptr;
    loop.unregister_request();
    loop.invoke("after_work", [w] { w->after_work(w->status_); });
  }
  im.running_completions = false;
  if (im.held_wake_ups != 0) {
    pool().wake_threads(im.held_wake_ups);
    im.held_wake_ups = 0;
  }
}

}  // namespace detail

Work::~Work() {
  if (loop_ != nullptr) fatal("herd::Work destroyed while in flight (queued, running or done)");
}

void queue_work(EventLoop& loop, Work& request) { detail::PoolAccess::submit(loop, request); }

bool Work::cancel() {
  if (loop_ == nullptr) return false;
  loop_->check_thread("Work::cancel called off the loop thread");
  return pool().cancel(*this);
}

WorkRequest queue_work(EventLoop& loop, std::move_only_function<void()> work,
                       std::move_only_function<void(WorkStatus)> after_work) {
  auto item = std::make_shared<detail::WorkItem>();
  item->fn = std::move(work);
  item->after_fn = std::move(after_work);
  item->self = item;
  queue_work(loop, *item);
  return WorkRequest(std::move(item));
}

bool WorkRequest::cancel() { return item_ && item_->cancel(); }

}  // namespace herd
