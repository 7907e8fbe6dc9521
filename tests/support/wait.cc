#include "support/wait.h"

#include <thread>

#include "herd/loop/timer.h"

namespace herd::test {

bool run_until(EventLoop& loop, const std::function<bool()>& done,
               std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  Timer guard(loop);
  // Referenced on purpose: it wakes poll at least every 10 ms to look at the deadline, and it
  // keeps run(kOnce) from returning at once (and spinning) when nothing else is active.
  guard.start([] {}, 10, 10);
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) break;
    loop.run(RunMode::kOnce);
  }
  guard.stop();
  return done();
}

bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace herd::test
