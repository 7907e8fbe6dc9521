// Loop callbacks are noexcept boundaries: an exception that escapes one is logged with what it
// said and where, and the process aborts; it never unwinds through the loop's state.
#include <gtest/gtest.h>

#include <stdexcept>

#include "herd/loop/event_loop.h"
#include "herd/loop/thread_pool.h"
#include "herd/loop/timer.h"

namespace herd {
namespace {

class LoopDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(LoopDeathTest, ExceptionInTimerCallbackAbortsWithMessage) {
  EXPECT_DEATH(
      {
        EventLoop loop;
        Timer t(loop);
        t.start([] { throw std::runtime_error("boom in timer"); }, 0);
        loop.run();
      },
      "uncaught exception in a timer callback: boom in timer");
}

TEST_F(LoopDeathTest, ExceptionInNextTickAbortsWithMessage) {
  EXPECT_DEATH(
      {
        EventLoop loop;
        loop.next_tick([] { throw std::logic_error("tick went wrong"); });
        loop.run();
      },
      "next-tick callback: tick went wrong");
}

TEST_F(LoopDeathTest, ExceptionInPoolWorkAbortsWithMessage) {
  EXPECT_DEATH(
      {
        EventLoop loop;
        queue_work(
            loop, [] { throw std::runtime_error("work failed"); }, [](WorkStatus) {});
        loop.run();
      },
      "thread-pool work: work failed");
}

TEST_F(LoopDeathTest, RunFromInsideACallbackAborts) {
  EXPECT_DEATH(
      {
        EventLoop loop;
        loop.set_immediate([&] { loop.run(); });
        loop.run();
      },
      "run called from inside a callback");
}

TEST_F(LoopDeathTest, DoubleCloseAborts) {
  EXPECT_DEATH(
      {
        EventLoop loop;
        Timer t(loop);
        t.close();
        t.close();
      },
      "already closing");
}

}  // namespace
}  // namespace herd
