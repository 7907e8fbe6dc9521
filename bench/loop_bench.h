// Shared pieces of loop_bench: the scenario sizes, registration and the checks.
//
// Every scenario is registered twice, as "herd/<scenario>" and "libuv/<scenario>", with the same
// options, so bench/compare.py can pair them by name. Times are wall-clock (UseRealTime: an
// event loop that sleeps in epoll_wait costs wall time, not CPU time); the CPU column is the
// whole process's CPU time (MeasureProcessCPUTime), thread-pool and sender threads included.
#pragma once

#include <benchmark/benchmark.h>
#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "herd/base/error.h"

namespace herd_bench {

// LOOP_BENCH_SCALE=N divides every count below by N (default 1: the counts the scenarios are
// named after). Only for quick runs and for profiling under callgrind; reported results use 1.
std::size_t scale();
inline std::size_t scaled(std::size_t count) {
  std::size_t n = count / scale();
  return n == 0 ? 1 : n;
}

inline constexpr std::size_t kMillionTimers = 1'000'000;
inline constexpr std::size_t kMillionImmediates = 1'000'000;
inline constexpr std::size_t kImmediateChains = 1'000;  // the "x1000" variant
inline constexpr std::size_t kPoolRoundTrips = 100'000;
inline constexpr std::size_t kPoolInFlight = 64;
inline constexpr std::size_t kAsyncWakeups = 100'000;
inline constexpr std::size_t kRestartedTimers = 1'000;       // timer_restarts: the timers
inline constexpr std::size_t kTimerRestartTicks = 1'000;     // and the iterations restarting them
inline constexpr std::size_t kAcceptedConnections = 20'000;  // multi_accept
inline constexpr std::size_t kConnectsInFlight = 64;
inline constexpr std::size_t kTcpChunk = 64 * 1024;
inline constexpr std::size_t kTcpTotal = 256u * 1024 * 1024;

// Timed iterations per repetition. compare.py adds repetitions (interleaved) on top.
inline constexpr int kIterations = 2;

[[noreturn]] inline void die(const char* what, const char* detail) {
  std::fprintf(stderr, "loop_bench: %s: %s\n", what, detail);
  std::abort();
}

// Benchmarks abort on any failure: a number measured after an error means nothing.
inline void check(bool ok, const char* what) {
  if (!ok) die(what, "check failed");
}
inline void check_uv(int rc, const char* what) {
  if (rc < 0) die(what, uv_strerror(rc));
}
template <class T>
inline void check_ok(const herd::Result<T>& result, const char* what) {
  if (!result) die(what, result.error().message().c_str());
}

// Closes every handle still open on `loop` (uv_walk), runs the close callbacks and closes the
// loop, which must then have nothing left.
void close_uv_loop(uv_loop_t* loop);

// Spins politely while another core does the work (the async ping-pong's sender).
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace herd_bench

// Registers `fn` under `name` ("herd/million_timers") with the options every scenario shares.
#define LOOP_BENCH(fn, name)          \
  BENCHMARK(fn)                       \
      ->Name(name)                    \
      ->Unit(benchmark::kMillisecond) \
      ->UseRealTime()                 \
      ->MeasureProcessCPUTime()       \
      ->Iterations(::herd_bench::kIterations)
