// The callback orders Node 20 prints for ../shared/conformance/loop_order_cases.js, reproduced
// with libherd's primitives: next_tick <-> process.nextTick, queue_microtask <-> Promise.then,
// set_immediate <-> setImmediate, Timer <-> setTimeout/setInterval. Where Node itself leaves
// the order open, every order Node showed is accepted.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "herd/base/fd.h"
#include "herd/loop/event_loop.h"
#include "herd/loop/io_watcher.h"
#include "herd/loop/timer.h"

namespace herd {
namespace {

using ::testing::AnyOf;
using ::testing::Eq;

class Order {
 public:
  void operator()(std::string s) { log_.push_back(std::move(s)); }
  std::string str() const {
    std::string out;
    for (const auto& s : log_) {
      if (!out.empty()) out += ' ';
      out += s;
    }
    return out;
  }

 private:
  std::vector<std::string> log_;
};

TEST(LoopOrder, MainTicksFirst) {
  EventLoop loop;
  Order L;
  Timer t(loop);
  t.start([&] { L("timeout0"); }, 0);
  loop.set_immediate([&] { L("immediate"); });
  loop.queue_microtask([&] { L("micro"); });
  loop.next_tick([&] { L("tick"); });
  L("sync");
  loop.run();
  EXPECT_THAT(L.str(), AnyOf(Eq("sync tick micro timeout0 immediate"),
                             Eq("sync tick micro immediate timeout0")));
}

TEST(LoopOrder, IoImmediateBeforeTimeout) {
  // Runs many times: the guarantee must hold every time, not usually.
  for (int run = 0; run < 50; ++run) {
    EventLoop loop;
    Order L;
    auto pipe = Fd::pipe(O_NONBLOCK);
    ASSERT_TRUE(pipe.has_value());
    auto& [rd, wr] = *pipe;
    ASSERT_EQ(::write(wr.get(), "x", 1), 1);
    IoWatcher w(loop, rd.get());
    Timer t(loop);
    w.set_callback([&](std::uint32_t) {
      w.stop();
      t.start([&] { L("timeout0"); }, 0);
      loop.set_immediate([&] { L("immediate"); });
    });
    ASSERT_TRUE(w.start(kReadable).has_value());
    loop.run();
    EXPECT_EQ(L.str(), "immediate timeout0");
  }
}

TEST(LoopOrder, BetweenImmediates) {
  EventLoop loop;
  Order L;
  loop.set_immediate([&] {
    L("imm1");
    loop.next_tick([&] { L("tick1"); });
    loop.queue_microtask([&] { L("micro1"); });
  });
  loop.set_immediate([&] { L("imm2"); });
  loop.run();
  EXPECT_EQ(L.str(), "imm1 tick1 micro1 imm2");
}

TEST(LoopOrder, BetweenTimers) {
  EventLoop loop;
  Order L;
  Timer t1(loop), t2(loop);
  t1.start(
      [&] {
        L("t1");
        loop.next_tick([&] { L("tick1"); });
        loop.queue_microtask([&] { L("micro1"); });
      },
      5);
  t2.start([&] { L("t2"); }, 5);
  loop.run();
  EXPECT_EQ(L.str(), "t1 tick1 micro1 t2");
}

TEST(LoopOrder, EqualDeadlinesFireInStartOrder) {
  EventLoop loop;
  Order L;
  std::vector<std::unique_ptr<Timer>> timers;
  for (const char* n : {"a", "b", "c", "d"}) {
    timers.push_back(std::make_unique<Timer>(loop));
    timers.back()->start([&L, n] { L(n); }, 10);
  }
  loop.run();
  EXPECT_EQ(L.str(), "a b c d");
}

TEST(LoopOrder, EqualDeadlinesKeepStartOrderAtScale) {
  // Start order, not heap layout, decides among equal deadlines: 1,000 timers, restarted in a
  // shuffled order, fire in that order.
  EventLoop loop;
  std::vector<int> fired;
  std::vector<std::unique_ptr<Timer>> timers;
  for (int i = 0; i < 1000; ++i) timers.push_back(std::make_unique<Timer>(loop));
  std::vector<int> order;
  for (int i = 0; i < 1000; ++i) order.push_back((i * 7919) % 1000);
  for (int i : order) timers[i]->start([&fired, i] { fired.push_back(i); }, 3);
  loop.run();
  EXPECT_EQ(fired, order);
}

TEST(LoopOrder, ImmediateFromImmediateWaitsForNextIteration) {
  EventLoop loop;
  Order L;
  loop.set_immediate([&] {
    L("imm1");
    loop.set_immediate([&] { L("imm-nested"); });
  });
  loop.set_immediate([&] { L("imm2"); });
  loop.run();
  EXPECT_EQ(L.str(), "imm1 imm2 imm-nested");
}

TEST(LoopOrder, TimerFromTimerNeverRunsInSamePhase) {
  EventLoop loop;
  Order L;
  Timer t1(loop), t2(loop), nested(loop);
  t1.start(
      [&] {
        L("t1");
        nested.start([&] { L("t-nested"); }, 0);
        loop.set_immediate([&] { L("imm"); });
      },
      1);
  t2.start([&] { L("t2"); }, 1);
  loop.run();
  EXPECT_THAT(L.str(), AnyOf(Eq("t1 t2 imm t-nested"), Eq("t1 imm t2 t-nested")));
}

TEST(LoopOrder, TicksDrainBeforeMicrotasks) {
  EventLoop loop;
  Order L;
  loop.next_tick([&] {
    L("tick1");
    loop.queue_microtask([&] { L("micro-from-tick"); });
    loop.next_tick([&] { L("tick3"); });
  });
  loop.next_tick([&] { L("tick2"); });
  loop.queue_microtask([&] {
    L("micro1");
    loop.next_tick([&] { L("tick-from-micro"); });
  });
  loop.run();
  EXPECT_EQ(L.str(), "tick1 tick2 tick3 micro1 micro-from-tick tick-from-micro");
}

TEST(LoopOrder, MicrotasksChainThenTick) {
  // Promise.resolve().then(m1).then(m2); Promise.resolve().then(m3): m2 is queued when m1 ends.
  EventLoop loop;
  Order L;
  Timer t(loop);
  loop.queue_microtask([&] {
    L("m1");
    loop.next_tick([&] { L("tick"); });
    loop.queue_microtask([&] { L("m2"); });
  });
  loop.queue_microtask([&] { L("m3"); });
  t.start([&] { L("timeout"); }, 0);
  loop.run();
  EXPECT_EQ(L.str(), "m1 m3 m2 tick timeout");
}

TEST(LoopOrder, UnrefTimerDoesNotKeepLoopAlive) {
  EventLoop loop;
  Order L;
  Timer unrefd(loop), refd(loop);
  unrefd.start([&] { L("unref-fired"); }, 50);
  unrefd.unref();
  refd.start([&] { L("ref-fired"); }, 10);
  bool alive = loop.run();
  L("exit");
  EXPECT_FALSE(alive);
  EXPECT_EQ(L.str(), "ref-fired exit");
  EXPECT_TRUE(unrefd.is_active());  // still armed: it just does not hold the loop
}

TEST(LoopOrder, IntervalRepeatsUntilStoppedInItsCallback) {
  EventLoop loop;
  Order L;
  Timer i(loop);
  int n = 0;
  i.start(
      [&] {
        L("tick" + std::to_string(++n));
        if (n == 3) i.stop();
      },
      2, 2);
  loop.run();
  EXPECT_EQ(L.str(), "tick1 tick2 tick3");
}

TEST(LoopOrder, CloseCallbacksRunAfterCheck) {
  // libuv's rule: a handle closed during an iteration has its close callback run in that
  // iteration's close phase, after the check phase (and its immediates).
  EventLoop loop;
  Order L;
  Timer t(loop);
  auto pipe = Fd::pipe(O_NONBLOCK);
  ASSERT_TRUE(pipe.has_value());
  ASSERT_EQ(::write(pipe->second.get(), "x", 1), 1);
  IoWatcher w(loop, pipe->first.get());
  w.set_callback([&](std::uint32_t) {
    L("io");
    w.close([&] { L("close"); });
    loop.set_immediate([&] { L("immediate"); });
    t.start([&] { L("timer"); }, 0);
  });
  ASSERT_TRUE(w.start(kReadable).has_value());
  loop.run();
  EXPECT_EQ(L.str(), "io immediate close timer");
}

}  // namespace
}  // namespace herd
