// million_timers: start 1,000,000 one-shot timers with timeouts 0..99 ms (timeout = i % 100),
// then run the loop until every one has fired. Modelled on libuv's
// test/benchmark-million-timers.c; the timed part is the handles' init + start + the run.
//
// Both sides get their handle storage allocated before the clock starts (libuv: an array of
// uv_timer_t; herd: an array of std::optional<herd::Timer>, constructed in place), so the
// comparison is of the loops' timer machinery, not of malloc. Handles are closed or destroyed
// after the clock stops. Each iteration uses a fresh loop whose cached time is updated just
// before the clock starts, so all deadlines are measured from the same moment on both sides.
//
// The wall time includes waiting for the last deadline (99 ms after the first start) when
// starting the timers takes less than that; the CPU column shows the work alone.
#include <memory>
#include <optional>

#include "herd/loop/event_loop.h"
#include "herd/loop/timer.h"
#include "loop_bench.h"

namespace herd_bench {
namespace {

std::uint64_t timeout_of(std::size_t i) { return i % 100; }

void herd_million_timers(benchmark::State& state) {
  const std::size_t n = scaled(kMillionTimers);
  for (auto _ : state) {
    state.PauseTiming();
    auto loop = std::make_unique<herd::EventLoop>();
    auto timers = std::make_unique<std::optional<herd::Timer>[]>(n);
    std::size_t fired = 0;
    loop->update_time();
    state.ResumeTiming();

    for (std::size_t i = 0; i < n; ++i) {
      timers[i].emplace(*loop);
      timers[i]->start([&fired] { ++fired; }, timeout_of(i));
    }
    loop->run();

    state.PauseTiming();
    check(fired == n, "herd/million_timers: every timer fired");
    timers.reset();  // fired one-shot timers are inactive: destroying them is enough
    loop.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}

void uv_timer_fired(uv_timer_t* timer) { ++*static_cast<std::size_t*>(timer->data); }

void libuv_million_timers(benchmark::State& state) {
  const std::size_t n = scaled(kMillionTimers);
  for (auto _ : state) {
    state.PauseTiming();
    uv_loop_t loop;
    check_uv(uv_loop_init(&loop), "uv_loop_init");
    std::unique_ptr<uv_timer_t[]> timers(new uv_timer_t[n]);
    std::size_t fired = 0;
    uv_update_time(&loop);
    state.ResumeTiming();

    for (std::size_t i = 0; i < n; ++i) {
      uv_timer_init(&loop, &timers[i]);
      timers[i].data = &fired;
      uv_timer_start(&timers[i], uv_timer_fired, timeout_of(i), 0);
    }
    check_uv(uv_run(&loop, UV_RUN_DEFAULT), "uv_run");

    state.PauseTiming();
    check(fired == n, "libuv/million_timers: every timer fired");
    close_uv_loop(&loop);  // uv_close on every timer, then the close callbacks
    timers.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}

}  // namespace

LOOP_BENCH(herd_million_timers, "herd/million_timers");
LOOP_BENCH(libuv_million_timers, "libuv/million_timers");

}  // namespace herd_bench
