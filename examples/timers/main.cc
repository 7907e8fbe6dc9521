// timers: a tour of libherd's event loop, the way a Node program would use it.
//
// It prints, in the order they really run: a next-tick, a microtask, an interval, a 0 ms timer
// and an immediate queued from an I/O callback (the immediate always wins there), work done on
// the thread pool, and then it waits for SIGINT/SIGTERM (or --seconds N) and exits cleanly.
//
//   timers [--seconds N]     N = how long the interval keeps ticking (default 3; 0 = until ^C)
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "herd/base/fd.h"
#include "herd/loop/event_loop.h"
#include "herd/loop/io_watcher.h"
#include "herd/loop/signal.h"
#include "herd/loop/thread_pool.h"
#include "herd/loop/timer.h"

namespace {

void say(const char* what) {
  std::printf("%s\n", what);
  std::fflush(stdout);
}

int usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s [--seconds N]   (N >= 0; 0 runs until SIGINT)\n", argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  long seconds = 3;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
      char* end = nullptr;
      seconds = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || seconds < 0) return usage(argv[0]);
    } else {
      return usage(argv[0]);
    }
  }

  herd::EventLoop loop;

  // Synchronous code first, then ticks, then microtasks: before any timer or immediate.
  say("main: sync code");
  loop.queue_microtask([] { say("main: microtask (queued first, runs after the tick)"); });
  loop.next_tick([] { say("main: next-tick"); });

  // Inside an I/O callback, an immediate always runs before a 0 ms timer.
  auto pipe = herd::Fd::pipe(O_NONBLOCK);
  if (!pipe) {
    std::fprintf(stderr, "timers: %s\n", pipe.error().message().c_str());
    return 1;
  }
  [[maybe_unused]] ssize_t w = ::write(pipe->second.get(), "!", 1);
  herd::IoWatcher io(loop, pipe->first.get());
  herd::Timer zero(loop);
  io.set_callback([&](std::uint32_t) {
    char c;
    [[maybe_unused]] ssize_t r = ::read(pipe->first.get(), &c, 1);
    io.stop();
    say("io: pipe readable");
    zero.start([] { say("io: 0 ms timer (after the immediate)"); }, 0);
    loop.set_immediate([] { say("io: immediate (before the 0 ms timer)"); });
  });
  if (auto s = io.start(herd::kReadable); !s) {
    std::fprintf(stderr, "timers: %s\n", s.error().message().c_str());
    return 1;
  }

  // CPU work goes to the thread pool; its result comes back on the loop thread.
  auto result = std::make_shared<double>(0);
  herd::queue_work(
      loop,
      [result] {
        double sum = 0;
        for (int i = 1; i <= 20'000'000; ++i) sum += 1.0 / (static_cast<double>(i) * i);
        *result = std::sqrt(sum * 6);
      },
      [result](herd::WorkStatus) {
        std::printf("pool: pi ~ %.6f, computed off the loop thread\n", *result);
        std::fflush(stdout);
      });

  // An interval that runs for --seconds, and signals that end the program early and cleanly.
  herd::Timer interval(loop);
  herd::Signal sigint(loop), sigterm(loop);
  auto started = std::chrono::steady_clock::now();
  int ticks = 0;
  auto shutdown = [&](const char* why) {
    std::printf("exit: %s after %d interval ticks\n", why, ticks);
    interval.stop();
    sigint.stop();
    sigterm.stop();
  };
  interval.start(
      [&] {
        ++ticks;
        double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        std::printf("interval: tick %d at %.1f s\n", ticks, elapsed);
        std::fflush(stdout);
        if (seconds > 0 && elapsed >= static_cast<double>(seconds)) shutdown("time is up");
      },
      500, 500);
  auto on_signal = [&](int signum) { shutdown(signum == SIGINT ? "SIGINT" : "SIGTERM"); };
  if (auto s = sigint.start(SIGINT, on_signal); !s) {
    std::fprintf(stderr, "timers: %s\n", s.error().message().c_str());
    return 1;
  }
  if (auto s = sigterm.start(SIGTERM, on_signal); !s) {
    std::fprintf(stderr, "timers: %s\n", s.error().message().c_str());
    return 1;
  }

  loop.run();
  say("loop: nothing left to do; bye");
  return 0;
}
