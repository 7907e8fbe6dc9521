// timer_restarts: 1,000 timers (the idle timeouts of 1,000 keep-alive connections, say) each
// stopped and started again on every one of 1,000 loop iterations, as an HTTP server resets a
// connection's timeout on each request: 1,000,000 stop + start pairs. None of these timers fires
// (5 to 5.063 s); a driver timer of 0 ms restarts itself to make the iterations, and on the last
// one stops everything so the loop ends. The timed part is the whole run.
//
// Both sides use their idiomatic calls: herd Timer::stop() and Timer::start(callback, timeout);
// libuv uv_timer_stop() and uv_timer_start(). Handles are allocated and initialised before the
// clock starts and closed after it stops.
#include <memory>
#include <optional>

#include "herd/loop/event_loop.h"
#include "herd/loop/timer.h"
#include "loop_bench.h"

namespace herd_bench {
namespace {

std::uint64_t timeout_of(std::size_t i) { return 5000 + i % 64; }

struct HerdRestarts {
  HerdRestarts(herd::EventLoop& loop, std::size_t n)
      : loop(loop), driver(loop), count(n), timers(new std::optional<herd::Timer>[n]) {
    for (std::size_t i = 0; i < count; ++i) timers[i].emplace(loop);
  }

  void start() {
    for (std::size_t i = 0; i < count; ++i) timers[i]->start([this] { ++fired; }, timeout_of(i));
    driver.start([this] { tick(); }, 0);
  }

  void tick() {
    ++ticks;
    for (std::size_t i = 0; i < count; ++i) {
      timers[i]->stop();
      timers[i]->start([this] { ++fired; }, timeout_of(i));
    }
    if (ticks < total_ticks) {
      driver.start([this] { tick(); }, 0);
    } else {
      for (std::size_t i = 0; i < count; ++i) timers[i]->stop();
    }
  }

  herd::EventLoop& loop;
  herd::Timer driver;
  std::size_t count;
  std::unique_ptr<std::optional<herd::Timer>[]> timers;
  std::size_t total_ticks = scaled(kTimerRestartTicks);
  std::size_t ticks = 0;
  std::size_t fired = 0;
};

void herd_timer_restarts(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    auto loop = std::make_unique<herd::EventLoop>();
    auto bench = std::make_unique<HerdRestarts>(*loop, kRestartedTimers);
    loop->update_time();
    state.ResumeTiming();

    bench->start();
    loop->run();

    state.PauseTiming();
    check(bench->ticks == bench->total_ticks, "herd/timer_restarts: every tick ran");
    check(bench->fired == 0, "herd/timer_restarts: no restarted timer fired");
    bench.reset();
    loop.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kRestartedTimers *
                                                    scaled(kTimerRestartTicks)));
}

struct UvRestarts {
  UvRestarts(uv_loop_t* loop, std::size_t n) : count(n), timers(new uv_timer_t[n]) {
    check_uv(uv_timer_init(loop, &driver), "uv_timer_init");
    driver.data = this;
    for (std::size_t i = 0; i < count; ++i) {
      check_uv(uv_timer_init(loop, &timers[i]), "uv_timer_init");
      timers[i].data = this;
    }
  }

  static void on_fired(uv_timer_t* t) { ++static_cast<UvRestarts*>(t->data)->fired; }

  void start() {
    for (std::size_t i = 0; i < count; ++i) uv_timer_start(&timers[i], on_fired, timeout_of(i), 0);
    uv_timer_start(&driver, on_tick, 0, 0);
  }

  static void on_tick(uv_timer_t* t) {
    auto* self = static_cast<UvRestarts*>(t->data);
    ++self->ticks;
    for (std::size_t i = 0; i < self->count; ++i) {
      uv_timer_stop(&self->timers[i]);
      uv_timer_start(&self->timers[i], on_fired, timeout_of(i), 0);
    }
    if (self->ticks < self->total_ticks) {
      uv_timer_start(&self->driver, on_tick, 0, 0);
    } else {
      for (std::size_t i = 0; i < self->count; ++i) uv_timer_stop(&self->timers[i]);
    }
  }

  uv_timer_t driver;
  std::size_t count;
  std::unique_ptr<uv_timer_t[]> timers;
  std::size_t total_ticks = scaled(kTimerRestartTicks);
  std::size_t ticks = 0;
  std::size_t fired = 0;
};

void libuv_timer_restarts(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    uv_loop_t loop;
    check_uv(uv_loop_init(&loop), "uv_loop_init");
    auto bench = std::make_unique<UvRestarts>(&loop, kRestartedTimers);
    uv_update_time(&loop);
    state.ResumeTiming();

    bench->start();
    check_uv(uv_run(&loop, UV_RUN_DEFAULT), "uv_run");

    state.PauseTiming();
    check(bench->ticks == bench->total_ticks, "libuv/timer_restarts: every tick ran");
    check(bench->fired == 0, "libuv/timer_restarts: no restarted timer fired");
    close_uv_loop(&loop);  // the handles are closed before their storage goes
    bench.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kRestartedTimers *
                                                    scaled(kTimerRestartTicks)));
}

}  // namespace

LOOP_BENCH(herd_timer_restarts, "herd/timer_restarts");
LOOP_BENCH(libuv_timer_restarts, "libuv/timer_restarts");

}  // namespace herd_bench
