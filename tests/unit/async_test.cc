#include "herd/loop/async.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "herd/loop/event_loop.h"
#include "herd/loop/timer.h"

namespace herd {
namespace {

TEST(Async, SendFromOtherThreadRunsCallbackOnLoopThread) {
  EventLoop loop;
  std::thread::id ran_on;
  Async* self = nullptr;
  Async a(loop, [&] {
    ran_on = std::this_thread::get_id();
    self->close();
  });
  self = &a;
  std::thread t([&] { a.send(); });
  loop.run();
  t.join();
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

TEST(Async, SendsAreCoalesced) {
  EventLoop loop;
  int calls = 0;
  Async a(loop, [&] { ++calls; });
  for (int i = 0; i < 100; ++i) a.send();
  loop.run(RunMode::kNoWait);
  EXPECT_EQ(calls, 1);
  a.close();
  loop.run();
}

TEST(Async, EveryAcknowledgedSendWakesTheLoop) {
  // Ping-pong: the sender waits for each callback before sending again, so no send may be lost.
  EventLoop loop;
  constexpr int kRounds = 10000;
  std::atomic<int> seen{0};
  Async* self = nullptr;
  Async a(loop, [&] {
    int n = seen.fetch_add(1) + 1;
    if (n == kRounds) self->close();
  });
  self = &a;
  std::thread t([&] {
    for (int i = 0; i < kRounds; ++i) {
      a.send();
      while (seen.load() <= i) std::this_thread::yield();
    }
  });
  loop.run();
  t.join();
  EXPECT_EQ(seen.load(), kRounds);
}

TEST(Async, UnrefdAsyncDoesNotKeepLoopAlive) {
  EventLoop loop;
  Async a(loop, [] {});
  a.unref();
  EXPECT_FALSE(loop.run());
}

TEST(EventLoopPost, RunsOnLoopThreadInOrder) {
  EventLoop loop;
  Timer keep(loop);
  keep.start([] {}, 60000);
  std::vector<int> order;
  std::thread::id ran_on;
  std::thread t([&] {
    for (int i = 0; i < 100; ++i) loop.post([&order, i] { order.push_back(i); });
    loop.post([&] {
      ran_on = std::this_thread::get_id();
      keep.stop();
    });
  });
  loop.run();
  t.join();
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[static_cast<size_t>(i)], i);
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

// The loop's wake-up is one flag and one edge-triggered eventfd shared by post(), Async and pool
// completions: ping-pongs from several threads at once, each waiting for its own previous wake-up
// to be handled (so a lost one would hang the test), all complete.
TEST(EventLoopPost, PingPongsFromSeveralThreadsLoseNoWakeUp) {
  EventLoop loop;
  constexpr int kThreads = 3;
  constexpr int kRounds = 3000;
  std::atomic<int> done_threads{0};
  std::atomic<int> async_seen{0};
  Async async(loop, [&] { async_seen.fetch_add(1); });
  std::vector<std::atomic<int>> handled(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        if (t == 0) {
          int before = async_seen.load();
          async.send();
          while (async_seen.load() == before) std::this_thread::yield();
        } else {
          loop.post([&handled, t] { handled[static_cast<std::size_t>(t)].fetch_add(1); });
          while (handled[static_cast<std::size_t>(t)].load() <= i) std::this_thread::yield();
        }
      }
      loop.post([&] {
        if (done_threads.fetch_add(1) + 1 == kThreads) async.close();
      });
    });
  }
  loop.run();
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(async_seen.load(), kRounds);
  for (int t = 1; t < kThreads; ++t)
    EXPECT_EQ(handled[static_cast<std::size_t>(t)].load(), kRounds);
}

}  // namespace
}  // namespace herd
