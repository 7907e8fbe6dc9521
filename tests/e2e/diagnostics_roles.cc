// The test binary as the apps of the memory-trend tests (diagnostics_test.cc): one that leaks
// 1 MiB/s, one that stays flat, one that grows and frees (a sawtooth). Memory comes straight
// from mmap and is touched page by page, so the resident size follows what the role means to
// use, with or without a sanitizer's allocator.
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>

#include "e2e/herd_fixture.h"
#include "support/child_process.h"

namespace herd::e2e {
namespace {

constexpr std::size_t kStep = 256 * 1024;  // every 250 ms: 1 MiB/s
constexpr long kTickNs = 250'000'000;

// Sleeps until the next tick after `*next` (absolute, so the rate does not drift).
void tick(timespec* next) {
  next->tv_nsec += kTickNs;
  if (next->tv_nsec >= 1'000'000'000) {
    next->tv_nsec -= 1'000'000'000;
    ++next->tv_sec;
  }
  while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, next, nullptr) != 0) {
  }
}

char* map(std::size_t bytes) {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : static_cast<char*>(p);
}

void touch(char* p, std::size_t bytes) {
  for (std::size_t i = 0; i < bytes; i += 4096) p[i] = 1;
}

// Grows by 1 MiB/s and keeps it all (up to 384 MiB, then stays).
bool mem_leak = test::register_role("mem_leak", [](int, char**) {
  constexpr std::size_t kMax = 384u << 20;
  char* region = map(kMax);
  if (region == nullptr) return 3;
  timespec next;
  ::clock_gettime(CLOCK_MONOTONIC, &next);
  for (std::size_t used = 0;; used += kStep) {
    if (used + kStep <= kMax) touch(region + used, kStep);
    tick(&next);
  }
});

// Takes 16 MiB at start, then stays.
bool mem_steady = test::register_role("mem_steady", [](int, char**) {
  constexpr std::size_t kSize = 16u << 20;
  char* region = map(kSize);
  if (region == nullptr) return 3;
  touch(region, kSize);
  for (;;) ::pause();
});

// Grows by 1 MiB/s for 6 s, gives it all back, again.
bool mem_sawtooth = test::register_role("mem_sawtooth", [](int, char**) {
  constexpr std::size_t kTooth = 24 * kStep;  // 6 MiB in 6 s
  char* region = map(kTooth);
  if (region == nullptr) return 3;
  timespec next;
  ::clock_gettime(CLOCK_MONOTONIC, &next);
  for (;;) {
    for (std::size_t used = 0; used < kTooth; used += kStep) {
      touch(region + used, kStep);
      tick(&next);
    }
    ::madvise(region, kTooth, MADV_DONTNEED);
  }
});

}  // namespace
}  // namespace herd::e2e
