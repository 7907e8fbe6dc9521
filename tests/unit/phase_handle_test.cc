#include "herd/loop/phase_handle.h"

#include <gtest/gtest.h>

#include <string>

#include "herd/loop/event_loop.h"
#include "herd/loop/timer.h"

namespace herd {
namespace {

TEST(PhaseHandle, IdlePrepareCheckRunInPhaseOrder) {
  EventLoop loop;
  Idle idle(loop);
  Prepare prepare(loop);
  Check check(loop);
  std::string log;
  int iterations = 0;
  idle.start([&] { log += "idle "; });
  prepare.start([&] { log += "prepare "; });
  check.start([&] {
    log += "check ";
    if (++iterations == 2) {
      idle.stop();
      prepare.stop();
      check.stop();
    }
  });
  loop.run();
  EXPECT_EQ(log, "idle prepare check idle prepare check ");
}

TEST(PhaseHandle, ImmediatesRunBeforeCheckHandles) {
  EventLoop loop;
  Check check(loop);
  std::string log;
  check.start([&] {
    log += "check ";
    check.stop();
  });
  loop.set_immediate([&] { log += "immediate "; });
  loop.run();
  EXPECT_EQ(log, "immediate check ");
}

TEST(PhaseHandle, StartedDuringOwnPhaseWaitsForNextIteration) {
  EventLoop loop;
  Check a(loop), b(loop);
  Idle spin(loop);  // check handles alone would let poll block (as in libuv)
  spin.start([] {});
  std::string log;
  int n = 0;
  a.start([&] {
    log += "a ";
    if (n++ == 0) {
      b.start([&] {
        log += "b ";
        a.stop();
        b.stop();
        spin.stop();
      });
    }
  });
  loop.run();
  EXPECT_EQ(log, "a a b ");
}

TEST(PhaseHandle, StoppedByEarlierCallbackOfSamePhaseIsSkipped) {
  EventLoop loop;
  Prepare a(loop), b(loop);
  bool b_ran = false;
  a.start([&] {
    b.stop();
    a.stop();
  });
  b.start([&] { b_ran = true; });
  loop.run();
  EXPECT_FALSE(b_ran);
}

TEST(PhaseHandle, ActiveIdleMakesPollNotBlock) {
  // With an idle handle active, a far timer must not block the loop: the idle callback keeps
  // running, and stops everything after 100 rounds.
  EventLoop loop;
  Idle idle(loop);
  Timer far(loop);
  far.start([] {}, 60 * 60 * 1000);
  int rounds = 0;
  idle.start([&] {
    if (++rounds == 100) {
      idle.stop();
      far.stop();
    }
  });
  loop.run();
  EXPECT_EQ(rounds, 100);
}

TEST(PhaseHandle, UnrefdCheckDoesNotKeepLoopAlive) {
  EventLoop loop;
  Check check(loop);
  int n = 0;
  check.start([&] { ++n; });
  check.unref();
  EXPECT_FALSE(loop.run());
  EXPECT_EQ(n, 0);
  check.stop();
}

TEST(PhaseHandle, ClearImmediate) {
  EventLoop loop;
  std::string log;
  loop.set_immediate([&] { log += "a "; });
  ImmediateId b = loop.set_immediate([&] { log += "b "; });
  loop.set_immediate([&] { log += "c "; });
  EXPECT_TRUE(loop.clear_immediate(b));
  EXPECT_FALSE(loop.clear_immediate(b));
  EXPECT_FALSE(loop.clear_immediate(12345));
  loop.run();
  EXPECT_EQ(log, "a c ");
  EXPECT_FALSE(loop.alive());
}

TEST(PhaseHandle, ClearImmediateFromAnEarlierImmediateOfTheSameBatch) {
  EventLoop loop;
  std::string log;
  ImmediateId b = 0;
  loop.set_immediate([&] {
    log += "a ";
    EXPECT_TRUE(loop.clear_immediate(b));
    loop.set_immediate([&] { log += "c "; });
  });
  b = loop.set_immediate([&] { log += "b "; });
  loop.run();
  EXPECT_EQ(log, "a c ");
  EXPECT_FALSE(loop.alive());
}

TEST(PhaseHandle, ClearedImmediateAloneDoesNotKeepLoopAlive) {
  EventLoop loop;
  bool ran = false;
  ImmediateId id = loop.set_immediate([&] { ran = true; });
  EXPECT_TRUE(loop.alive());
  loop.clear_immediate(id);
  EXPECT_FALSE(loop.alive());
  EXPECT_FALSE(loop.run());
  EXPECT_FALSE(ran);
}

}  // namespace
}  // namespace herd
