// async_wakeups: 100,000 cross-thread wake-ups of a loop through an async handle
// (herd::Async, uv_async_t), one at a time. A sender thread calls send() and then spins until
// the loop thread's callback has acknowledged that wake-up (an atomic counter), so no two sends
// are coalesced: each one is an eventfd write, an epoll_wait return on the loop thread and a
// callback. The loop is idle in between (nothing else is active), so it usually sleeps in
// epoll_wait when the send arrives.
//
// Pinning: the loop thread runs on CPU 0 and the sender on CPU 1 (when there are two), so the
// scheduler cannot migrate them or stack both on one core. The sender also spins only briefly
// and then yields between checks: without that, two threads on one core would cost a whole time
// slice per wake-up (seconds per run instead of milliseconds, seen on both sides unpinned).
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <memory>
#include <thread>

#include "herd/loop/async.h"
#include "herd/loop/event_loop.h"
#include "loop_bench.h"

namespace herd_bench {
namespace {

constexpr int kSpinsBeforeYield = 200;

// Pins the calling thread to `cpu` for the scope's lifetime (no-op with fewer than two CPUs).
class PinScope {
 public:
  explicit PinScope(int cpu) {
    if (std::thread::hardware_concurrency() < 2) return;
    pinned_ = pthread_getaffinity_np(pthread_self(), sizeof old_, &old_) == 0;
    if (!pinned_) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pinned_ = pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
  }
  ~PinScope() {
    if (pinned_) pthread_setaffinity_np(pthread_self(), sizeof old_, &old_);
  }
  PinScope(const PinScope&) = delete;
  PinScope& operator=(const PinScope&) = delete;

 private:
  cpu_set_t old_;
  bool pinned_ = false;
};

constexpr int kLoopCpu = 0;
constexpr int kSenderCpu = 1;

// The sender's side: send, wait for the acknowledgement, repeat.
template <class Send>
void ping(std::size_t n, const std::atomic<std::size_t>& acked, Send send) {
  PinScope pin(kSenderCpu);
  for (std::size_t i = 1; i <= n; ++i) {
    send();
    for (int spins = 0; acked.load(std::memory_order_acquire) < i; ++spins) {
      if (spins < kSpinsBeforeYield) {
        cpu_relax();
      } else {
        std::this_thread::yield();
      }
    }
  }
}

void herd_async_wakeups(benchmark::State& state) {
  const std::size_t n = scaled(kAsyncWakeups);
  PinScope pin(kLoopCpu);
  for (auto _ : state) {
    state.PauseTiming();
    auto loop = std::make_unique<herd::EventLoop>();
    std::atomic<std::size_t> acked{0};
    std::size_t seen = 0;
    std::unique_ptr<herd::Async> async;
    async = std::make_unique<herd::Async>(*loop, [&] {
      acked.store(++seen, std::memory_order_release);
      if (seen == n) async->close();
    });
    state.ResumeTiming();

    std::thread sender([&] { ping(n, acked, [&] { async->send(); }); });
    loop->run();
    sender.join();

    state.PauseTiming();
    check(seen == n, "herd/async_wakeups: every wake-up was seen");
    async.reset();
    loop.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}

struct UvPong {
  std::atomic<std::size_t> acked{0};
  std::size_t seen = 0;
  std::size_t total = 0;

  static void on_async(uv_async_t* async) {
    auto* self = static_cast<UvPong*>(async->data);
    self->acked.store(++self->seen, std::memory_order_release);
    if (self->seen == self->total) uv_close(reinterpret_cast<uv_handle_t*>(async), nullptr);
  }
};

void libuv_async_wakeups(benchmark::State& state) {
  const std::size_t n = scaled(kAsyncWakeups);
  PinScope pin(kLoopCpu);
  for (auto _ : state) {
    state.PauseTiming();
    uv_loop_t loop;
    check_uv(uv_loop_init(&loop), "uv_loop_init");
    UvPong pong;
    pong.total = n;
    uv_async_t async;
    check_uv(uv_async_init(&loop, &async, &UvPong::on_async), "uv_async_init");
    async.data = &pong;
    state.ResumeTiming();

    std::thread sender([&] { ping(n, pong.acked, [&] { uv_async_send(&async); }); });
    check_uv(uv_run(&loop, UV_RUN_DEFAULT), "uv_run");
    sender.join();

    state.PauseTiming();
    check(pong.seen == n, "libuv/async_wakeups: every wake-up was seen");
    close_uv_loop(&loop);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}

}  // namespace

LOOP_BENCH(herd_async_wakeups, "herd/async_wakeups");
LOOP_BENCH(libuv_async_wakeups, "libuv/async_wakeups");

}  // namespace herd_bench
