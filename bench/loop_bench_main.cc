// loop_bench's main: Google Benchmark's, plus the context a reader needs to trust the numbers
// (libuv's version, the pools' sizes, the count divisor).
#include <uv.h>

#include <cstdlib>
#include <string>

#include "herd/loop/thread_pool.h"
#include "loop_bench.h"

namespace herd_bench {

std::size_t scale() {
  static const std::size_t value = [] {
    const char* text = std::getenv("LOOP_BENCH_SCALE");
    if (text == nullptr || *text == '\0') return std::size_t{1};
    char* end = nullptr;
    unsigned long n = std::strtoul(text, &end, 10);
    if (*end != '\0' || n == 0) die("LOOP_BENCH_SCALE", "must be a positive integer");
    return static_cast<std::size_t>(n);
  }();
  return value;
}

void close_uv_loop(uv_loop_t* loop) {
  uv_walk(
      loop,
      [](uv_handle_t* handle, void*) {
        if (!uv_is_closing(handle)) uv_close(handle, nullptr);
      },
      nullptr);
  check_uv(uv_run(loop, UV_RUN_DEFAULT), "uv_run (closing)");
  check_uv(uv_loop_close(loop), "uv_loop_close");
}

}  // namespace herd_bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  const char* uv_pool = std::getenv("UV_THREADPOOL_SIZE");
  benchmark::AddCustomContext("libuv_version", uv_version_string());
  benchmark::AddCustomContext("libuv_threadpool_size", uv_pool ? uv_pool : "4 (default)");
  benchmark::AddCustomContext("herd_threadpool_size", std::to_string(herd::thread_pool_size()));
  benchmark::AddCustomContext("loop_bench_scale", std::to_string(herd_bench::scale()));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
