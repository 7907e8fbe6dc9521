// pool_roundtrips: 100,000 thread-pool round trips (loop -> pool thread -> loop), 64 in flight:
// each completion, on the loop thread, queues the next piece of work until all are queued. The
// work itself is trivial, so this measures the pools' queues, their wake-ups of the pool threads
// and of the loop, and the completion dispatch.
//
// herd's side uses herd::Work, the caller-owned request (like libuv's uv_work_t, one per slot
// in flight, each queued again from its own after_work), so neither side allocates per round
// trip.
//
// Both pools are process-wide and have 4 threads by default (HERD_THREADPOOL_SIZE,
// UV_THREADPOOL_SIZE). Each benchmark does one round trip before the clock starts, so the
// creation of the pool threads is not measured.
#include <array>
#include <atomic>
#include <memory>

#include "herd/loop/event_loop.h"
#include "herd/loop/thread_pool.h"
#include "loop_bench.h"

namespace herd_bench {
namespace {

// Trivial work that the compiler cannot drop.
std::atomic<std::uint64_t> work_done{0};
void trivial_work() { work_done.fetch_add(1, std::memory_order_relaxed); }

struct HerdPool;

struct HerdWork final : herd::Work {
  HerdPool* pool = nullptr;
  void work() override { trivial_work(); }
  void after_work(herd::WorkStatus status) override;
};

struct HerdPool {
  herd::EventLoop* loop = nullptr;
  std::size_t total = 0;
  std::size_t queued = 0;
  std::size_t completed = 0;
  std::array<HerdWork, kPoolInFlight> reqs{};

  void queue_one(HerdWork* req) {
    ++queued;
    req->pool = this;
    herd::queue_work(*loop, *req);
  }
};

void HerdWork::after_work(herd::WorkStatus status) {
  check(status == herd::WorkStatus::kOk, "herd/pool_roundtrips: work ran");
  ++pool->completed;
  if (pool->queued < pool->total) pool->queue_one(this);
}

void herd_pool_roundtrips(benchmark::State& state) {
  const std::size_t n = scaled(kPoolRoundTrips);
  {
    herd::EventLoop warm;
    HerdPool p{.loop = &warm, .total = 1};
    p.queue_one(&p.reqs[0]);
    warm.run();
  }
  for (auto _ : state) {
    state.PauseTiming();
    auto loop = std::make_unique<herd::EventLoop>();
    auto p = std::make_unique<HerdPool>();
    p->loop = loop.get();
    p->total = n;
    state.ResumeTiming();

    for (std::size_t i = 0; i < kPoolInFlight && p->queued < n; ++i) p->queue_one(&p->reqs[i]);
    loop->run();

    state.PauseTiming();
    check(p->completed == n, "herd/pool_roundtrips: every round trip completed");
    p.reset();
    loop.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}

struct UvPool {
  uv_loop_t* loop = nullptr;
  std::size_t total = 0;
  std::size_t queued = 0;
  std::size_t completed = 0;
  std::array<uv_work_t, kPoolInFlight> reqs{};

  static void work(uv_work_t*) { trivial_work(); }
  static void after_work(uv_work_t* req, int status) {
    check_uv(status, "libuv/pool_roundtrips: after_work");
    auto* self = static_cast<UvPool*>(req->data);
    ++self->completed;
    if (self->queued < self->total) self->queue_one(req);
  }
  void queue_one(uv_work_t* req) {
    ++queued;
    req->data = this;
    check_uv(uv_queue_work(loop, req, &UvPool::work, &UvPool::after_work), "uv_queue_work");
  }
};

void libuv_pool_roundtrips(benchmark::State& state) {
  const std::size_t n = scaled(kPoolRoundTrips);
  {
    uv_loop_t warm;
    check_uv(uv_loop_init(&warm), "uv_loop_init");
    UvPool p{.loop = &warm, .total = 1};
    p.queue_one(&p.reqs[0]);
    check_uv(uv_run(&warm, UV_RUN_DEFAULT), "uv_run");
    close_uv_loop(&warm);
  }
  for (auto _ : state) {
    state.PauseTiming();
    uv_loop_t loop;
    check_uv(uv_loop_init(&loop), "uv_loop_init");
    auto p = std::make_unique<UvPool>();
    p->loop = &loop;
    p->total = n;
    state.ResumeTiming();

    for (std::size_t i = 0; i < kPoolInFlight && p->queued < n; ++i) p->queue_one(&p->reqs[i]);
    check_uv(uv_run(&loop, UV_RUN_DEFAULT), "uv_run");

    state.PauseTiming();
    check(p->completed == n, "libuv/pool_roundtrips: every round trip completed");
    close_uv_loop(&loop);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}

}  // namespace

LOOP_BENCH(herd_pool_roundtrips, "herd/pool_roundtrips");
LOOP_BENCH(libuv_pool_roundtrips, "libuv/pool_roundtrips");

}  // namespace herd_bench
