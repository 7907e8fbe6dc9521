// million_immediates: 1,000,000 setImmediate callbacks.
//
//   million_immediates        one chain: each immediate schedules the next, so every loop
//                             iteration runs exactly one (the Node pattern of a task yielding
//                             to I/O with setImmediate); this measures the cost of a whole
//                             loop iteration, poll included.
//   million_immediates_x1000  1,000 chains side by side: 1,000 immediates per iteration, which
//                             measures the immediate queue itself.
//
// libuv has no immediates, so the libuv side builds them the way Node does (src/env.cc,
// Environment::CheckImmediate and ToggleImmediateRef): a queue drained by a uv_check_t, which is
// unref'd so that it never keeps the loop alive by itself, plus a uv_idle_t that is started while
// immediates are pending, which keeps the loop alive and makes uv__io_poll not block. As in
// Node's processImmediate, immediates queued while the queue is drained run in the next
// iteration. The queued callbacks are std::move_only_function in a vector (what a libuv program
// would write); herd's side passes the same lambdas to set_immediate, which stores each in its
// immediate's node (herd also gives each immediate an id for clear_immediate; this queue does
// not).
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "herd/loop/event_loop.h"
#include "loop_bench.h"

namespace herd_bench {
namespace {

using Callback = std::move_only_function<void()>;

class UvImmediates {
 public:
  explicit UvImmediates(uv_loop_t* loop) {
    check_uv(uv_check_init(loop, &check_), "uv_check_init");
    check_.data = this;
    uv_unref(reinterpret_cast<uv_handle_t*>(&check_));
    check_uv(uv_check_start(&check_, &UvImmediates::on_check), "uv_check_start");
    check_uv(uv_idle_init(loop, &idle_), "uv_idle_init");
    idle_.data = this;
  }

  void set_immediate(Callback cb) {
    queue_.push_back(std::move(cb));
    if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&idle_))) {
      uv_idle_start(&idle_, [](uv_idle_t*) {});
    }
  }

  // The handles are closed by close_uv_loop(); this object must outlive that.

 private:
  static void on_check(uv_check_t* check) {
    auto* self = static_cast<UvImmediates*>(check->data);
    if (self->queue_.empty()) return;
    // Swap so that immediates queued by these callbacks wait for the next iteration; the two
    // vectors keep their capacity, so the steady state allocates nothing.
    self->running_.swap(self->queue_);
    for (Callback& cb : self->running_) cb();
    self->running_.clear();
    if (self->queue_.empty()) uv_idle_stop(&self->idle_);
  }

  uv_check_t check_;
  uv_idle_t idle_;
  std::vector<Callback> queue_;
  std::vector<Callback> running_;
};

// `chains` immediates are queued at the start; each one, when it runs, queues its successor
// until `total` have been queued in all.
struct Chains {
  std::size_t total = 0;
  std::size_t queued = 0;
  std::size_t ran = 0;
};

template <class Schedule>
void step(Chains* c, Schedule* schedule) {
  ++c->ran;
  if (c->queued < c->total) {
    ++c->queued;
    (*schedule)([c, schedule] { step(c, schedule); });
  }
}

void herd_immediates(benchmark::State& state, std::size_t chains) {
  const std::size_t n = scaled(kMillionImmediates);
  for (auto _ : state) {
    state.PauseTiming();
    auto loop = std::make_unique<herd::EventLoop>();
    Chains c{.total = n};
    // The lambda goes to set_immediate as it is: herd stores it in the immediate's node.
    auto schedule = [&loop](auto&& fn) { loop->set_immediate(std::forward<decltype(fn)>(fn)); };
    state.ResumeTiming();

    for (std::size_t i = 0; i < chains && c.queued < n; ++i) {
      ++c.queued;
      schedule([&c, &schedule] { step(&c, &schedule); });
    }
    loop->run();

    state.PauseTiming();
    check(c.ran == n, "herd/million_immediates: every immediate ran");
    loop.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}

void libuv_immediates(benchmark::State& state, std::size_t chains) {
  const std::size_t n = scaled(kMillionImmediates);
  for (auto _ : state) {
    state.PauseTiming();
    uv_loop_t loop;
    check_uv(uv_loop_init(&loop), "uv_loop_init");
    auto immediates = std::make_unique<UvImmediates>(&loop);
    Chains c{.total = n};
    // The lambda becomes a Callback on the way in, as with any queue of std::function-like
    // callbacks (Node's are JS function objects).
    auto schedule = [&immediates](auto&& fn) {
      immediates->set_immediate(Callback(std::forward<decltype(fn)>(fn)));
    };
    state.ResumeTiming();

    for (std::size_t i = 0; i < chains && c.queued < n; ++i) {
      ++c.queued;
      schedule([&c, &schedule] { step(&c, &schedule); });
    }
    check_uv(uv_run(&loop, UV_RUN_DEFAULT), "uv_run");

    state.PauseTiming();
    check(c.ran == n, "libuv/million_immediates: every immediate ran");
    close_uv_loop(&loop);
    immediates.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}

void herd_million_immediates(benchmark::State& state) { herd_immediates(state, 1); }
void libuv_million_immediates(benchmark::State& state) { libuv_immediates(state, 1); }
void herd_million_immediates_x1000(benchmark::State& state) {
  herd_immediates(state, kImmediateChains);
}
void libuv_million_immediates_x1000(benchmark::State& state) {
  libuv_immediates(state, kImmediateChains);
}

}  // namespace

LOOP_BENCH(herd_million_immediates, "herd/million_immediates");
LOOP_BENCH(libuv_million_immediates, "libuv/million_immediates");
LOOP_BENCH(herd_million_immediates_x1000, "herd/million_immediates_x1000");
LOOP_BENCH(libuv_million_immediates_x1000, "libuv/million_immediates_x1000");

}  // namespace herd_bench
