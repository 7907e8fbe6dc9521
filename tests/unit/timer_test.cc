#include "herd/loop/timer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "herd/loop/event_loop.h"

namespace herd {
namespace {

TEST(Timer, FiresOnceAfterTimeoutAndDeactivates) {
  EventLoop loop;
  Timer t(loop);
  int fired = 0;
  std::uint64_t started = loop.now();
  t.start([&] { ++fired; }, 20);
  EXPECT_TRUE(t.is_active());
  EXPECT_FALSE(loop.run());
  EXPECT_EQ(fired, 1);
  EXPECT_FALSE(t.is_active());
  EXPECT_GE(loop.now() - started, 20u);  // never early
}

TEST(Timer, StopBeforeFiringCancels) {
  EventLoop loop;
  Timer t(loop);
  bool fired = false;
  t.start([&] { fired = true; }, 5);
  t.stop();
  EXPECT_FALSE(t.is_active());
  loop.run();
  EXPECT_FALSE(fired);
}

TEST(Timer, StoppedByEarlierDueTimerInSamePhaseDoesNotRun) {
  EventLoop loop;
  Timer a(loop), b(loop);
  bool b_fired = false;
  a.start([&] { b.stop(); }, 5);
  b.start([&] { b_fired = true; }, 5);
  loop.run();
  EXPECT_FALSE(b_fired);
}

TEST(Timer, RestartFromOwnCallbackReplacesCallback) {
  EventLoop loop;
  Timer t(loop);
  std::string log;
  t.start(
      [&] {
        log += "first ";
        t.start([&] { log += "second"; }, 1);
      },
      1);
  loop.run();
  EXPECT_EQ(log, "first second");
}

TEST(Timer, DestroyedInsideOwnCallbackIsSafe) {
  // Not a recommended pattern, but a common mistake: the loop must not touch the dead timer.
  EventLoop loop;
  auto t = std::make_unique<Timer>(loop);
  bool fired = false;
  t->start(
      [&] {
        fired = true;
        t.reset();
      },
      1, 1);
  loop.run();
  EXPECT_TRUE(fired);
}

TEST(Timer, AgainRequiresStartAndRestartsWithRepeat) {
  EventLoop loop;
  Timer t(loop);
  auto r = t.again();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), EINVAL);

  int fired = 0;
  t.start([&] { ++fired; }, 1000000);  // far away
  t.set_repeat(5);
  ASSERT_TRUE(t.again().has_value());  // now due in 5 ms, repeating
  EXPECT_LE(t.due_in(), 5u);
  Timer stopper(loop);
  stopper.start(
      [&] {
        if (fired >= 2) {
          t.stop();
          stopper.stop();
        }
      },
      1, 1);
  loop.run();
  EXPECT_GE(fired, 2);
}

TEST(Timer, CloseRunsCallbackInClosePhaseAndEndsLoop) {
  EventLoop loop;
  auto t = std::make_unique<Timer>(loop);
  bool closed = false;
  t->start([] {}, 1000000);
  t->close([&] {
    closed = true;
    t.reset();  // freeing in the close callback is allowed
  });
  EXPECT_TRUE(t->is_closing());
  EXPECT_FALSE(loop.run());
  EXPECT_TRUE(closed);
}

TEST(Timer, RunModesOnceAndNoWait) {
  EventLoop loop;
  Timer t(loop);
  int fired = 0;
  t.start([&] { ++fired; }, 30);
  // kNoWait never blocks: the timer is not due yet.
  EXPECT_TRUE(loop.run(RunMode::kNoWait));
  EXPECT_EQ(fired, 0);
  // kOnce blocks in poll until the timer is due, then runs it.
  EXPECT_FALSE(loop.run(RunMode::kOnce));
  EXPECT_EQ(fired, 1);
}

TEST(Timer, StopFromCallbackEndsRun) {
  EventLoop loop;
  Timer t(loop), other(loop);
  int n = 0;
  t.start(
      [&] {
        if (++n == 3) loop.stop();
      },
      1, 1);
  EXPECT_TRUE(loop.run());  // stopped with the interval still active
  EXPECT_EQ(n, 3);
  t.stop();
  EXPECT_FALSE(loop.alive());
}

TEST(Timer, HugeTimeoutDoesNotWrap) {
  EventLoop loop;
  Timer t(loop);
  bool fired = false;
  t.start([&] { fired = true; }, UINT64_MAX);
  EXPECT_TRUE(loop.run(RunMode::kNoWait));
  EXPECT_FALSE(fired);
  t.stop();
}

}  // namespace
}  // namespace herd
