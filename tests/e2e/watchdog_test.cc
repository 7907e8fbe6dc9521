// The watchdog (docs/watchdog-and-hooks.md): an instance of an app with `watchdog` gets
// WATCHDOG_USEC and WATCHDOG_PID, and one that sends no WATCHDOG=1 in time (or sends
// WATCHDOG=trigger) is killed (SIGABRT) and restarted by the restart policy; libherd's servers
// ping from their loop, so a stopped (SIGSTOP) server is caught.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "e2e/herd_fixture.h"
#include "herd/net/socket_activation.h"
#include "support/child_process.h"

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;

// Sent once at start-up, before pinging (e.g. "WATCHDOG_USEC=2000000"); with it the role sends
// nothing else.
constexpr const char* kFirstVar = "HERD_E2E_WD_FIRST";

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

// Writes "usec=<WATCHDOG_USEC> pid=<WATCHDOG_PID> self=<getpid()>" to HERD_E2E_FILE, then sends
// WATCHDOG=1 every quarter interval (at most 200 ms apart, so the trigger file is seen soon). When
// the file HERD_E2E_READY exists, removes it and sends WATCHDOG=trigger instead, once.
bool watchdog_pinger = test::register_role("watchdog_pinger", [](int, char**) {
  write_file(env_or_empty(kFileVar), "usec=" + env_or_empty("WATCHDOG_USEC") +
                                         " pid=" + env_or_empty("WATCHDOG_PID") +
                                         " self=" + std::to_string(::getpid()) + "\n");
  if (std::string first = env_or_empty(kFirstVar); !first.empty()) {
    if (!sd_notify(first)) return 3;
    for (;;) ::pause();
  }
  std::uint64_t usec = std::strtoull(env_or_empty("WATCHDOG_USEC").c_str(), nullptr, 10);
  if (usec == 0) return 2;
  std::string trigger = env_or_empty(kReadyFileVar);
  for (;;) {
    if (!trigger.empty() && file_exists(trigger)) {
      ::unlink(trigger.c_str());
      (void)sd_notify("WATCHDOG=trigger");
      for (;;) ::pause();
    }
    (void)sd_notify("WATCHDOG=1");
    ::usleep(static_cast<useconds_t>(std::min<std::uint64_t>(usec / 4, 200'000)));
  }
  return 0;
});

int restarts(const Json& list, const std::string& name) {
  return HerdTest::instance(list, name)["pm2_env"].value("restart_time", -1);
}

class WatchdogTest : public HerdTest {
 protected:
  std::string bin(const std::string& name) const {
    return herd_bin_.substr(0, herd_bin_.rfind('/')) + "/" + name;
  }

  // Waits for the instance of `name` to be restarted (restart_time >= 1) into a new process that
  // is online; returns the list.
  Json wait_restarted(const std::string& name, pid_t first) {
    Json list;
    EXPECT_TRUE(wait_jlist(
        [&](const Json& l) {
          const Json p = instance(l, name);
          return restarts(l, name) >= 1 && p["pid"].get<pid_t>() > 0 && p["pid"] != first &&
                 p["pm2_env"]["status"] == "online";
        },
        30s, &list))
        << list.dump(1);
    return list;
  }
};

TEST_F(WatchdogTest, AnAppThatNeverPingsIsRestartedWithTheReason) {
  std::string script = write_script("silent", "exec sleep 1000\n");
  CommandResult r =
      herd({"start", script, "-n", "silent", "--watchdog", "1s", "--min-uptime", "200"});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_status("silent", "online", 1, kWaitTimeout, &list)) << list.dump(1);
  pid_t first = instance(list, "silent")["pid"];
  auto first_id = proc_id(first);
  ASSERT_TRUE(first_id);
  EXPECT_EQ(instance(list, "silent")["pm2_env"]["watchdog"], 1000);

  list = wait_restarted("silent", first);
  const Json env = instance(list, "silent")["pm2_env"];
  EXPECT_EQ(env["exit_signal"], SIGABRT);
  EXPECT_THAT(env.value("status_text", ""), HasSubstr("watchdog timeout: no WATCHDOG=1 for 1s"));
  EXPECT_TRUE(wait_for([&] { return dead(*first_id); }));

  std::string log = read_file(path("herd.log"));
  EXPECT_THAT(log, HasSubstr("watchdog timeout: no WATCHDOG=1 for 1s: SIGABRT"));
  EXPECT_THAT(log, HasSubstr("watchdog timeout: no WATCHDOG=1 for 1s; killed by SIGABRT"));
  r = herd({"describe", "silent"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("watchdog timeout: no WATCHDOG=1 for 1s"));
  EXPECT_THAT(r.out, HasSubstr("watchdog (ms)"));
  EXPECT_THAT(r.out, HasSubstr("watchdog pings"));
  EXPECT_THAT(r.out, HasSubstr("watchdog pings"));
}

TEST_F(WatchdogTest, PingsKeepItRunningAndItsEnvironmentIsSystemds) {
  std::string report = path("pinger.env");
  CommandResult r = herd({"start", test_binary(), "-n", "pinger", "--watchdog", "1500ms"},
                         {{kRoleVar, "watchdog_pinger"}, {kFileVar, report}});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(wait_for([&] { return !read_file(report).empty(); })) << "the role never ran";
  Json list;
  ASSERT_TRUE(wait_status("pinger", "online", 1, kWaitTimeout, &list)) << list.dump(1);
  pid_t pid = instance(list, "pinger")["pid"];
  EXPECT_EQ(read_file(report),
            "usec=1500000 pid=" + std::to_string(pid) + " self=" + std::to_string(pid) + "\n");
  const Json env = instance(list, "pinger")["pm2_env"]["env"];
  EXPECT_EQ(env.value("WATCHDOG_USEC", ""), "1500000");
  EXPECT_EQ(env.value("WATCHDOG_PID", ""), std::to_string(pid));

  // Twenty-four pings 200 ms apart: three intervals, each of which would have ended a process
  // that did not ping.
  ASSERT_TRUE(wait_jlist(
      [&](const Json& l) {
        return instance(l, "pinger")["pm2_env"].value("watchdog_pings", 0) >= 24;
      },
      30s, &list))
      << list.dump(1);
  EXPECT_EQ(restarts(list, "pinger"), 0);
  EXPECT_EQ(instance(list, "pinger")["pid"], pid);
  EXPECT_THAT(read_file(path("herd.log")), ::testing::Not(HasSubstr("watchdog timeout")));
}

TEST_F(WatchdogTest, TriggerRestartsAtOnce) {
  std::string trigger = path("trigger");
  CommandResult r =
      herd({"start", test_binary(), "-n", "trig", "--watchdog", "60s"},
           {{kRoleVar, "watchdog_pinger"}, {kFileVar, path("trig.env")}, {kReadyFileVar, trigger}});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_jlist(
      [&](const Json& l) {
        const Json p = instance(l, "trig");
        return p["pm2_env"]["status"] == "online" && p["pm2_env"].value("watchdog_pings", 0) >= 1;
      },
      kWaitTimeout, &list))
      << list.dump(1);
  pid_t first = instance(list, "trig")["pid"];
  write_file(trigger, "now\n");
  // Long before the 60 s interval could run out.
  list = wait_restarted("trig", first);
  EXPECT_THAT(instance(list, "trig")["pm2_env"].value("status_text", ""),
              HasSubstr("WATCHDOG=trigger"));
  EXPECT_THAT(read_file(path("herd.log")),
              HasSubstr("watchdog triggered: the app sent WATCHDOG=trigger"));
}

TEST_F(WatchdogTest, TheAppSetsItsOwnIntervalWithWatchdogUsec) {
  CommandResult r = herd({"start", test_binary(), "-n", "own", "--watchdog", "60s"},
                         {{kRoleVar, "watchdog_pinger"},
                          {kFileVar, path("own.env")},
                          {kFirstVar, "WATCHDOG_USEC=2000000"}});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_status("own", "online", 1, kWaitTimeout, &list)) << list.dump(1);
  pid_t first = instance(list, "own")["pid"];
  wait_restarted("own", first);
  EXPECT_THAT(read_file(path("herd.log")), HasSubstr("watchdog timeout: no WATCHDOG=1 for 2s"));
}

TEST_F(WatchdogTest, HelloIsCaughtWhenItsLoopStops) {
  std::string hello = bin("hello");
  if (!file_exists(hello)) GTEST_SKIP() << hello << " is not built";
  CommandResult r = herd({"start", hello, "-n", "hello", "--watchdog", "4s", "--", "--host",
                          "127.0.0.1", "--port", "0"});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  // Running and pinging from its loop: four pings, two intervals. (4 s leaves a loaded machine
  // time to start it; the pings come every 2 s.)
  ASSERT_TRUE(wait_jlist(
      [&](const Json& l) {
        const Json p = instance(l, "hello");
        return p["pm2_env"]["status"] == "online" && p["pm2_env"].value("watchdog_pings", 0) >= 4;
      },
      30s, &list))
      << list.dump(1) << read_file(path("herd.log"));
  EXPECT_EQ(restarts(list, "hello"), 0);
  pid_t first = instance(list, "hello")["pid"];
  auto first_id = proc_id(first);
  ASSERT_TRUE(first_id);

  ASSERT_EQ(::kill(first, SIGSTOP), 0);
  list = wait_restarted("hello", first);
  EXPECT_TRUE(wait_for([&] { return dead(*first_id); })) << "the stopped process is still there";
  EXPECT_THAT(read_file(path("herd.log")), HasSubstr("watchdog timeout: no WATCHDOG=1 for 4s"));
  // The new process pings again.
  EXPECT_TRUE(wait_jlist(
      [&](const Json& l) {
        return instance(l, "hello")["pm2_env"].value("watchdog_pings", 0) >= 2;
      },
      20s, &list))
      << list.dump(1);
}

// The primary of a libherd cluster pings from its own loop (its workers are not the watched
// process): stopping it gets the program restarted.
TEST_F(WatchdogTest, ClusterPrimaryIsCaughtWhenItsLoopStops) {
  std::string hello = bin("hello");
  if (!file_exists(hello)) GTEST_SKIP() << hello << " is not built";
  CommandResult r = herd({"start", hello, "-n", "primary", "--watchdog", "4s", "--", "--host",
                          "127.0.0.1", "--port", "0", "--workers", "1"});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_jlist(
      [&](const Json& l) {
        const Json p = instance(l, "primary");
        return p["pm2_env"]["status"] == "online" && p["pm2_env"].value("watchdog_pings", 0) >= 3;
      },
      30s, &list))
      << list.dump(1) << read_file(path("herd.log"));
  EXPECT_EQ(restarts(list, "primary"), 0);
  pid_t first = instance(list, "primary")["pid"];
  ASSERT_EQ(::kill(first, SIGSTOP), 0);
  wait_restarted("primary", first);
  EXPECT_THAT(read_file(path("herd.log")), HasSubstr("watchdog timeout: no WATCHDOG=1 for 4s"));
}

TEST_F(WatchdogTest, BadValuesAreRefusedWithTheirName) {
  for (const char* bad : {"soon", "-1", "-2s"}) {
    CommandResult r = herd({"start", "/bin/sleep", "-n", "bad", "--watchdog", bad, "--", "100"});
    EXPECT_NE(r.exit_code, 0) << r;
    EXPECT_THAT(r.err, HasSubstr(std::string("--watchdog takes a duration"))) << r;
    EXPECT_THAT(r.err, HasSubstr(std::string("'") + bad + "'")) << r;
  }
  write_file(path("eco.json"),
             R"({"apps": [{"name": "bad", "script": "/bin/sleep", "args": "100",
                 "watchdog": "-3s"}]})");
  CommandResult r = herd({"start", path("eco.json")});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("watchdog: expected a duration")) << r;
  EXPECT_EQ(jlist().size(), 0u);
}

}  // namespace
}  // namespace herd::e2e
