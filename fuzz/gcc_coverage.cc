// Coverage feedback for libFuzzer when the target is built with g++ (see CMakeLists.txt: clang 14
// cannot compile libherd, whose std::expected needs C++20 concepts that clang implements only
// from version 16 on).
//
// g++ has no -fsanitize=fuzzer, but it has -fsanitize-coverage=trace-pc (a call at every basic
// block) and trace-cmp (the same comparison hooks clang emits, which libFuzzer implements). The
// libFuzzer runtime of LLVM 14 refuses trace-pc, so its __sanitizer_cov_trace_pc is weakened in a
// private copy of the runtime and this one takes its place: like AFL, it hashes each pair of
// consecutive blocks (an edge) into a table of 8-bit counters, and the table lives in the
// __libfuzzer_extra_counters section, which libFuzzer reads as coverage features of its own.
// Collisions in the 64 Ki table only make coverage coarser; they never make a finding wrong.
#include <cstddef>
#include <cstdint>

namespace {

constexpr std::size_t kCounters = std::size_t{1} << 16;

__attribute__((section("__libfuzzer_extra_counters"), used, aligned(64)))
std::uint8_t counters[kCounters];

// The previous block (shifted), per thread (the server runs on one, but libFuzzer has others).
thread_local std::uintptr_t previous = 0;

}  // namespace

extern "C" __attribute__((no_sanitize_coverage, no_sanitize("address", "undefined"))) void
__sanitizer_cov_trace_pc() {
  auto pc = reinterpret_cast<std::uintptr_t>(__builtin_return_address(0));
  std::uintptr_t block = (pc ^ (pc >> 16)) & (kCounters - 1);
  ++counters[block ^ previous];
  // Shifted, so that A->B and B->A are different edges, and A->A is not always slot 0 (AFL).
  previous = block >> 1;
}

// g++'s trace-cmp also reports floating-point comparisons, which libFuzzer has no hook for (its
// value profile is about integers and bytes): accept and ignore them.
extern "C" __attribute__((no_sanitize_coverage)) void __sanitizer_cov_trace_cmpf(float, float) {}
extern "C" __attribute__((no_sanitize_coverage)) void __sanitizer_cov_trace_cmpd(double, double) {}
