// Watchdog (daemon/watchdog.h): what each notify line does to an instance's watchdog. Only the
// lines that act at once are checked here (no time passes); the timer's expiry is proven end to
// end by tests/e2e/watchdog_test.cc.
#include "daemon/watchdog.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "herd/loop/event_loop.h"

namespace herd::manager {
namespace {

TEST(WatchdogTest, PingsTriggerAndIntervalChanges) {
  EventLoop loop;
  Watchdog w(loop);
  std::vector<std::string> fired;
  auto record = [&](std::string reason) { fired.push_back(std::move(reason)); };

  w.on_notify("WATCHDOG=1");  // not armed: ignored
  EXPECT_EQ(w.pings(), 0u);

  w.start(60'000, record);
  EXPECT_TRUE(w.armed());
  w.on_notify("READY=1\nWATCHDOG=1");
  w.on_notify("STATUS=busy");
  EXPECT_EQ(w.pings(), 1u);
  EXPECT_TRUE(fired.empty());

  w.on_notify("WATCHDOG_USEC=2500000");
  EXPECT_EQ(w.interval_ms(), 2500u);
  w.on_notify("WATCHDOG_USEC=1500");  // rounded up to whole ms
  EXPECT_EQ(w.interval_ms(), 2u);
  w.on_notify("WATCHDOG_USEC=soon");  // not a number: ignored
  EXPECT_EQ(w.interval_ms(), 2u);

  w.on_notify("WATCHDOG=trigger");
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0], "watchdog triggered: the app sent WATCHDOG=trigger");
  EXPECT_FALSE(w.armed());
  w.on_notify("WATCHDOG=trigger");  // at most once per start()
  EXPECT_EQ(fired.size(), 1u);

  w.start(10'000, record);
  w.on_notify("WATCHDOG_USEC=0");  // systemd: off until the next start
  EXPECT_FALSE(w.armed());
  w.on_notify("WATCHDOG=trigger");
  EXPECT_EQ(fired.size(), 1u);
  w.stop();
}

TEST(WatchdogTest, ExpiresWithTheReasonNamingTheInterval) {
  EventLoop loop;
  Watchdog w(loop);
  std::string reason;
  w.start(5, [&](std::string r) { reason = std::move(r); });
  // The watchdog's timer is unref'd: something else must keep the loop running until it fires.
  Timer keep(loop);
  keep.start([&] { loop.stop(); }, 60'000);
  Timer poll(loop);
  poll.start(
      [&] {
        if (!reason.empty()) loop.stop();
      },
      1, 1);
  loop.run();
  EXPECT_EQ(reason, "watchdog timeout: no WATCHDOG=1 for 5ms");
  EXPECT_FALSE(w.armed());
}

TEST(WatchdogTest, DescribesIntervals) {
  EXPECT_EQ(describe_interval(10'000), "10s");
  EXPECT_EQ(describe_interval(120'000), "2m");
  EXPECT_EQ(describe_interval(1'500), "1.5s");
  EXPECT_EQ(describe_interval(250), "250ms");
}

}  // namespace
}  // namespace herd::manager
