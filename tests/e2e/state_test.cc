// Saved state: save, a daemon killed with -9 (its apps die with it), resurrect; and a broken
// dump.json, where resurrect falls back to dump.json.bak.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <string>
#include <vector>

#include "e2e/herd_fixture.h"

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;

// Kills the daemon with SIGKILL and waits until it and the processes in `apps` are dead.
void kill_daemon_hard(pid_t daemon, const std::vector<ProcId>& apps) {
  auto d = proc_id(daemon);
  ASSERT_TRUE(d.has_value()) << "no daemon runs with pid " << daemon;
  ASSERT_EQ(::kill(daemon, SIGKILL), 0);
  ASSERT_TRUE(wait_for([&] { return dead(*d); })) << "the daemon survived SIGKILL";
  // PR_SET_PDEATHSIG: no app outlives the daemon (one could hold a port with nobody to stop it).
  for (const ProcId& app : apps) {
    EXPECT_TRUE(wait_for([&] { return dead(app); }))
        << "app pid " << app.pid << " outlived the daemon";
  }
}

std::vector<ProcId> app_processes(const Json& list) {
  std::vector<ProcId> out;
  for (const auto& p : list) {
    if (auto id = proc_id(p["pid"].get<pid_t>())) out.push_back(*id);
  }
  return out;
}

TEST_F(HerdTest, ResurrectBringsBackEverySavedAppAfterKillNineOfTheDaemon) {
  std::string script = write_script("sleeper", "exec sleep 1000\n");
  CommandResult r = herd({"start", script, "-n", "one", "--min-uptime", "100"});
  ASSERT_EQ(r.exit_code, 0) << r;
  r = herd({"start", script, "-n", "two", "-i", "2", "--min-uptime", "100"});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json before = jlist();
  ASSERT_EQ(before.size(), 3u) << before.dump(1);
  r = herd({"save"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(file_exists(path("dump.json")));

  pid_t old_daemon = daemon_pid();
  kill_daemon_hard(old_daemon, app_processes(before));
  if (HasFatalFailure()) return;

  // The first verb starts a new daemon (the old socket file is stale).
  r = herd({"resurrect"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr(path("dump.json")));
  EXPECT_NE(daemon_pid(), old_daemon);
  Json list;
  EXPECT_TRUE(wait_status("one", "online", 1, kWaitTimeout, &list)) << list.dump(1);
  EXPECT_TRUE(wait_status("two", "online", 2, kWaitTimeout, &list)) << list.dump(1);
  EXPECT_EQ(list.size(), 3u) << list.dump(1);
  EXPECT_EQ(instances(list, "one").size(), 1u);
  auto two = instances(list, "two");
  ASSERT_EQ(two.size(), 2u);
  std::vector<int> indexes{two[0]["pm2_env"]["NODE_APP_INSTANCE"],
                           two[1]["pm2_env"]["NODE_APP_INSTANCE"]};
  std::sort(indexes.begin(), indexes.end());
  EXPECT_EQ(indexes, (std::vector<int>{0, 1}));
  for (const auto& p : list) {
    EXPECT_GT(p["pid"].get<int>(), 0);
    for (const auto& old : before) EXPECT_NE(p["pid"], old["pid"]);
  }
}

TEST_F(HerdTest, ResurrectFallsBackToTheBackupOfABrokenDump) {
  CommandResult r =
      herd({"start", write_script("keeper", "exec sleep 1000\n"), "--min-uptime", "100"});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_EQ(herd({"save"}).exit_code, 0);
  ASSERT_EQ(herd({"save"}).exit_code, 0);
  ASSERT_TRUE(file_exists(path("dump.json.bak")));
  write_file(path("dump.json"), "{\"apps\": [ this is not JSON", 0600);

  kill_daemon_hard(daemon_pid(), app_processes(jlist()));
  if (HasFatalFailure()) return;

  r = herd({"resurrect"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr(path("dump.json.bak")));  // it says where the apps came from
  Json list;
  EXPECT_TRUE(wait_status("keeper", "online", 1, kWaitTimeout, &list)) << list.dump(1);
  EXPECT_EQ(list.size(), 1u);

  // Neither file usable: an error that says so, and the running app is left alone.
  write_file(path("dump.json.bak"), "garbage", 0600);
  r = herd({"resurrect"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("dump.json"));
  EXPECT_EQ(instance(jlist(), "keeper")["pm2_env"]["status"], "online");
}

}  // namespace
}  // namespace herd::e2e
