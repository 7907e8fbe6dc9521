#include "herd/loop/signal.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "herd/loop/event_loop.h"
#include "support/wait.h"

namespace herd {
namespace {

TEST(Signal, ArrivesAsAnEvent) {
  EventLoop loop;
  Signal s(loop);
  int got = 0;
  ASSERT_TRUE(s.start(SIGUSR1, [&](int signum) {
                 got = signum;
                 s.stop();
               }).has_value());
  ASSERT_EQ(::kill(::getpid(), SIGUSR1), 0);
  ASSERT_TRUE(test::run_until(loop, [&] { return got != 0; }));
  EXPECT_EQ(got, SIGUSR1);
  EXPECT_FALSE(s.is_active());
}

TEST(Signal, SeveralHandlesForOneSignalAllFire) {
  EventLoop loop;
  Signal a(loop), b(loop);
  int a_got = 0, b_got = 0;
  ASSERT_TRUE(a.start(SIGUSR2, [&](int) { ++a_got; }).has_value());
  ASSERT_TRUE(b.start(SIGUSR2, [&](int) { ++b_got; }).has_value());
  ASSERT_EQ(::kill(::getpid(), SIGUSR2), 0);
  ASSERT_TRUE(test::run_until(loop, [&] { return a_got == 1 && b_got == 1; }));
  a.stop();
  b.stop();
}

TEST(Signal, EveryLoopWatchingTheSignalGetsIt) {
  EventLoop main_loop;
  Signal main_sig(main_loop);
  std::atomic<int> main_got{0}, other_got{0};
  std::atomic<bool> other_ready{false};
  ASSERT_TRUE(main_sig.start(SIGUSR1, [&](int) { ++main_got; }).has_value());

  std::thread other([&] {
    EventLoop loop;
    Signal sig(loop);
    ASSERT_TRUE(sig.start(SIGUSR1, [&](int) { ++other_got; }).has_value());
    other_ready = true;
    test::run_until(loop, [&] { return other_got.load() > 0; });
    sig.stop();
  });
  ASSERT_TRUE(test::wait_for([&] { return other_ready.load(); }));
  ASSERT_EQ(::kill(::getpid(), SIGUSR1), 0);
  EXPECT_TRUE(test::run_until(main_loop, [&] { return main_got.load() > 0; }));
  other.join();
  EXPECT_EQ(other_got.load(), 1);
  EXPECT_EQ(main_got.load(), 1);
  main_sig.stop();
}

TEST(Signal, StoppingTheLastHandleInsideItsCallbackIsSafe) {
  EventLoop loop;
  auto s = std::make_unique<Signal>(loop);
  bool got = false;
  ASSERT_TRUE(s->start(SIGUSR2, [&](int) {
                 got = true;
                 s.reset();  // destroys the loop's signalfd watcher from inside its callback
               }).has_value());
  ASSERT_EQ(::kill(::getpid(), SIGUSR2), 0);
  ASSERT_TRUE(test::run_until(loop, [&] { return got; }));
  EXPECT_FALSE(loop.run());  // nothing left: the loop ends
}

TEST(Signal, RefusesSigkillAndBadNumbers) {
  EventLoop loop;
  Signal s(loop);
  for (int bad : {0, -1, SIGKILL, SIGSTOP, 10000}) {
    auto r = s.start(bad, [](int) {});
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code(), EINVAL);
  }
  EXPECT_FALSE(s.is_active());
}

TEST(Signal, ActiveSignalKeepsLoopAliveUnlessUnrefd) {
  EventLoop loop;
  Signal s(loop);
  ASSERT_TRUE(s.start(SIGUSR1, [](int) {}).has_value());
  EXPECT_TRUE(loop.alive());
  s.unref();
  EXPECT_FALSE(loop.alive());
  EXPECT_FALSE(loop.run());
  s.stop();
}

}  // namespace
}  // namespace herd
