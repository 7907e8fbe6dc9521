// The restart policy seen from outside: a crash loop ends in "errored" after max_restarts, with
// the backoff delays in between; and whatever crashes, the daemon leaves no zombie.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <string>
#include <thread>

#include "e2e/herd_fixture.h"

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

TEST_F(HerdTest, CrashLoopEndsErroredAfterMaxRestarts) {
  std::string script = write_script("crasher", "exit 1\n");
  auto t0 = Clock::now();
  // start answers once the first run has settled (here: crashed, its restart pending).
  CommandResult r = herd({"start", script, "-n", "crash", "--max-restarts", "3"});
  ASSERT_FALSE(r.timed_out) << r;
  Clock::time_point errored_at;
  Json list;
  ASSERT_TRUE(wait_jlist(
      [&](const Json& l) {
        auto all = instances(l, "crash");
        if (all.size() != 1 || all[0]["pm2_env"]["status"] != "errored") return false;
        errored_at = Clock::now();
        return true;
      },
      kWaitTimeout, &list))
      << list.dump(1);
  Json p = instance(list, "crash");
  // Three restarts; the fourth unstable exit is one more than max_restarts allows.
  EXPECT_EQ(p["pm2_env"]["restart_time"], 3);
  EXPECT_EQ(p["pm2_env"]["unstable_restarts"], 4);
  EXPECT_EQ(p["pid"], 0);
  EXPECT_EQ(p["pm2_env"]["exit_code"], 1);
  EXPECT_THAT(p["pm2_env"].value("status_text", ""), HasSubstr("max_restarts"));
  // A crash loop never restarts sooner than 100 ms: three restarts take 300 ms at least.
  EXPECT_GE(errored_at - t0, 300ms);
  CommandResult ls = herd({"ls"});
  EXPECT_THAT(ls.out, HasSubstr("errored"));

  // reset zeroes the counters.
  r = herd({"reset", "crash"});
  ASSERT_EQ(r.exit_code, 0) << r;
  p = instance(jlist(), "crash");
  EXPECT_EQ(p["pm2_env"]["restart_time"], 0);
  EXPECT_EQ(p["pm2_env"]["unstable_restarts"], 0);
  expect_no_zombies();
}

TEST_F(HerdTest, CrashLoopBacksOffExponentially) {
  std::string script = write_script("crasher", "exit 1\n");
  auto t0 = Clock::now();
  CommandResult r = herd({"start", script, "-n", "backoff", "--max-restarts", "3",
                          "--exp-backoff-restart-delay", "200"});
  ASSERT_FALSE(r.timed_out) << r;
  Clock::time_point errored_at;
  Json list;
  ASSERT_TRUE(wait_jlist(
      [&](const Json& l) {
        auto all = instances(l, "backoff");
        if (all.size() != 1 || all[0]["pm2_env"]["status"] != "errored") return false;
        errored_at = Clock::now();
        return true;
      },
      kWaitTimeout, &list))
      << list.dump(1);
  EXPECT_EQ(instance(list, "backoff")["pm2_env"]["restart_time"], 3);
  // The delays before the three restarts: 200, then x1.5 each time.
  EXPECT_GE(errored_at - t0, Ms(200 + 300 + 450));
}

// Whatever way processes end (a crash loop, kill -9, a daemonized grandchild that outlives its
// app and is re-parented to the daemon, the subreaper), the daemon reaps them all.
TEST_F(HerdTest, DaemonLeavesNoZombies) {
  CommandResult r =
      herd({"start", write_script("crasher", "exit 1\n"), "-n", "crash", "--max-restarts", "2"});
  ASSERT_FALSE(r.timed_out) << r;

  // setsid takes the sleep out of the app's process group, so the group kill at the app's exit
  // misses it: it lives on as an orphan of the daemon, then exits by itself.
  std::string orphan_file = path("orphan.pid");
  r = herd({"start",
            write_script("orphaner",
                         "setsid sleep 0.5 &\n"
                         "echo $! > \"$1.tmp\" && mv \"$1.tmp\" \"$1\"\n"
                         "exit 0\n"),
            "-n", "orphaner", "--no-autorestart", "--", orphan_file});
  ASSERT_FALSE(r.timed_out) << r;
  ASSERT_TRUE(wait_for([&] { return file_exists(orphan_file); }));
  auto orphan = proc_id(static_cast<pid_t>(std::atoi(read_file(orphan_file).c_str())));
  ASSERT_TRUE(wait_status("orphaner", "stopped"));
  if (auto st = orphan ? proc_stat(orphan->pid) : std::nullopt; st && st->state != 'Z') {
    EXPECT_EQ(st->ppid, daemon_pid()) << "the orphan was not re-parented to the daemon";
  }

  r = herd({"start", write_script("victim", "exec sleep 1000\n"), "-n", "victim", "--min-uptime",
            "100"});
  ASSERT_EQ(r.exit_code, 0) << r;
  for (int round = 0; round < 3; ++round) {
    Json list;
    ASSERT_TRUE(wait_status("victim", "online", 1, kWaitTimeout, &list)) << list.dump(1);
    pid_t pid = instance(list, "victim")["pid"];
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    ASSERT_TRUE(wait_jlist([&](const Json& l) {
      Json v = instance(l, "victim");
      return v["pid"].get<int>() > 0 && v["pid"] != pid;
    }));
  }

  if (orphan) {
    EXPECT_TRUE(wait_for([&] { return reaped(*orphan); })) << "orphan " << orphan->pid;
  }
  EXPECT_TRUE(wait_status("crash", "errored"));
  expect_no_zombies();
}

}  // namespace
}  // namespace herd::e2e
