// Hooks (docs/watchdog-and-hooks.md): commands an app runs on its events, with the event in
// their environment and their output in herd.log; bounded in time (hook_timeout), coalesced
// while one runs, never in the way of the daemon.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <map>
#include <sstream>
#include <string>

#include "e2e/herd_fixture.h"

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;

// `env` output (NAME=value lines) as a map.
std::map<std::string, std::string> parse_env(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

// A hook command that writes its environment to `file` whole (written aside, then renamed).
std::string dump_env_to(const std::string& file) {
  return "env > '" + file + ".tmp' && pwd >> '" + file + ".tmp' && mv '" + file + ".tmp' '" + file +
         "'";
}

TEST_F(HerdTest, CrashHookRunsWithTheEventInItsEnvironment) {
  std::string go = path("go");
  std::string script = write_script(
      "crasher", "echo started\nwhile [ ! -f '" + go + "' ]; do sleep 0.05; done\nexit 3\n");
  std::string out = path("crash.env");
  CommandResult r = herd({"start", script, "-n", "crasher", "--no-autorestart", "--cwd", home_,
                          "--hook", "crash=" + dump_env_to(out) + " && echo alert sent"},
                         {{"MY_SETTING", "from-the-app"}});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_status("crasher", "online", 1, kWaitTimeout, &list)) << list.dump(1);
  pid_t pid = instance(list, "crasher")["pid"];
  write_file(go, "");

  ASSERT_TRUE(wait_for([&] { return file_exists(out); }, 20s)) << read_file(path("herd.log"));
  auto env = parse_env(read_file(out));
  EXPECT_EQ(env["HERD_EVENT"], "crash");
  EXPECT_EQ(env["HERD_APP"], "crasher");
  EXPECT_EQ(env["HERD_ID"], "0");
  EXPECT_EQ(env["HERD_PID"], std::to_string(pid));
  EXPECT_EQ(env["HERD_EXIT_CODE"], "3");
  EXPECT_EQ(env.count("HERD_SIGNAL"), 0u);
  EXPECT_THAT(env["HERD_REASON"], HasSubstr("exited with code 3"));
  EXPECT_EQ(env["HERD_COALESCED"], "1");
  EXPECT_EQ(env["MY_SETTING"], "from-the-app");  // the app's environment
  EXPECT_EQ(env.count("NOTIFY_SOCKET"), 0u);     // but not what only the instance may use
  EXPECT_THAT(read_file(out), HasSubstr("\n" + home_ + "\n"));  // run in the app's cwd
  EXPECT_TRUE(wait_for([&] {
    return contains(read_file(path("herd.log")), "hook crash of crasher (id 0): alert sent");
  })) << read_file(path("herd.log"));
  EXPECT_TRUE(wait_status("crasher", "stopped"));
}

TEST_F(HerdTest, KilledInstanceRunsCrashThenRestartHooks) {
  std::string script = write_script("sleeper", "exec sleep 1000\n");
  std::string crash = path("crash.env");
  std::string restart = path("restart.env");
  CommandResult r = herd({"start", script, "-n", "sleeper", "--hook", "crash=" + dump_env_to(crash),
                          "--hook", "restart=" + dump_env_to(restart)});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_status("sleeper", "online", 1, kWaitTimeout, &list)) << list.dump(1);
  pid_t first = instance(list, "sleeper")["pid"];
  EXPECT_FALSE(file_exists(crash));  // a start is not a restart
  EXPECT_FALSE(file_exists(restart));
  ASSERT_EQ(::kill(first, SIGTERM), 0);

  ASSERT_TRUE(wait_for([&] { return file_exists(crash) && file_exists(restart); }, 20s))
      << read_file(path("herd.log"));
  auto c = parse_env(read_file(crash));
  EXPECT_EQ(c["HERD_EVENT"], "crash");
  EXPECT_EQ(c["HERD_PID"], std::to_string(first));
  EXPECT_EQ(c["HERD_SIGNAL"], "SIGTERM");
  EXPECT_EQ(c.count("HERD_EXIT_CODE"), 0u);
  auto s = parse_env(read_file(restart));
  EXPECT_EQ(s["HERD_EVENT"], "restart");
  EXPECT_THAT(s["HERD_REASON"], HasSubstr("killed by SIGTERM"));
  ASSERT_TRUE(wait_status("sleeper", "online", 1, kWaitTimeout, &list));
  EXPECT_EQ(s["HERD_PID"], std::to_string(instance(list, "sleeper")["pid"].get<pid_t>()));
  EXPECT_NE(s["HERD_PID"], std::to_string(first));
}

TEST_F(HerdTest, HookThatNeverEndsIsKilledAtItsTimeoutWhileTheDaemonAnswers) {
  std::string script = write_script("once", "sleep 0.2\nexit 1\n");
  std::string hook_pid = path("hook.pid");
  CommandResult r = herd({"start", script, "-n", "once", "--no-autorestart", "--hook-timeout", "3s",
                          "--hook", "crash=echo $$ > '" + hook_pid + "'; exec sleep 1000"});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(wait_for([&] { return !read_file(hook_pid).empty(); }, 20s))
      << read_file(path("herd.log"));
  auto hook = proc_id(std::stoi(read_file(hook_pid)));
  ASSERT_TRUE(hook) << "the hook is gone already";

  // The daemon answers while the hook runs.
  r = herd({"ls"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("once"));
  EXPECT_FALSE(dead(*hook)) << "the hook ended before its timeout";

  EXPECT_TRUE(wait_for([&] { return reaped(*hook); }, 20s)) << "the hook was never killed";
  EXPECT_THAT(read_file(path("herd.log")),
              HasSubstr("hook crash of once (id 0) (pid " + std::to_string(hook->pid) +
                        ") still runs after hook_timeout (3000 ms): killed"));
  EXPECT_EQ(herd({"ls"}).exit_code, 0);
  expect_no_zombies();
}

TEST_F(HerdTest, FailingHooksAreLoggedAndChangeNothingElse) {
  std::string script = write_script("bad", "exit 1\n");
  std::string errored = path("errored.txt");
  CommandResult r = herd({"start", script, "-n", "bad", "--max-restarts", "1", "--hook",
                          "crash=/nonexistent/notify-me", "--hook",
                          "errored=echo $HERD_EVENT $HERD_REASON > '" + errored + "'; exit 7"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(wait_status("bad", "errored", 1, 20s));
  ASSERT_TRUE(wait_for([&] { return !read_file(errored).empty(); }, 20s))
      << read_file(path("herd.log"));
  EXPECT_THAT(read_file(errored), HasSubstr("errored "));
  EXPECT_THAT(read_file(errored), HasSubstr("unstable restarts"));
  EXPECT_TRUE(wait_for([&] {
    std::string log = read_file(path("herd.log"));
    return contains(log, ") failed: exit code 127") && contains(log, ") failed: exit code 7");
  })) << read_file(path("herd.log"));
  EXPECT_THAT(read_file(path("herd.log")), HasSubstr("/nonexistent/notify-me"));
  r = herd({"ls"});
  EXPECT_EQ(r.exit_code, 0) << r;
  expect_no_zombies();
}

// A hook that prints megabytes: herd.log gets its first 64 KiB and a line saying the rest was
// dropped; the daemon reads (and drops) the rest, so the hook is not blocked on a full pipe.
TEST_F(HerdTest, HookOutputIsBoundedInHerdLog) {
  std::string script = write_script("once", "exit 1\n");
  CommandResult r =
      herd({"start", script, "-n", "loud", "--no-autorestart", "--hook",
            "crash=head -c 5000000 /dev/zero | tr '\\0' x | fold -w 100; echo done >&2"});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(wait_for(
      [&] { return contains(read_file(path("herd.log")), "hook crash of loud (id 0) (pid "); },
      30s))
      << read_file(path("herd.log"));
  EXPECT_TRUE(wait_for([&] { return contains(read_file(path("herd.log")), ") finished"); }, 30s))
      << "the hook did not finish";
  std::string log = read_file(path("herd.log"));
  EXPECT_THAT(log, HasSubstr("hook crash of loud (id 0): more than 65536 bytes of output; the rest "
                             "is dropped"));
  EXPECT_THAT(log, HasSubstr("hook crash of loud (id 0): xxxxxxxxxx"));
  EXPECT_LT(log.size(), 256u * 1024) << "herd.log holds more than the bound";
  EXPECT_EQ(herd({"ls"}).exit_code, 0);
}

// The replacement of a reload crashes (reload_test.cc's reload_app role, mode "crash"): the
// reload fails, the old instance stays, and reload_failed (not crash) runs with the reason.
TEST_F(HerdTest, FailedReloadRunsTheReloadFailedHook) {
  std::string file = path("app");
  std::string failed = path("reload_failed.env");
  std::string crashed = path("crash.env");
  CommandResult r = herd(
      {"start", test_binary(), "-n", "app", "--listen", "127.0.0.1:0", "--wait-ready", "--hook",
       "reload_failed=" + dump_env_to(failed), "--hook", "crash=" + dump_env_to(crashed)},
      {{kRoleVar, "reload_app"}, {kFileVar, file}});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_status("app", "online", 1, kWaitTimeout, &list)) << list.dump(1);
  pid_t old = instance(list, "app")["pid"];

  write_file(file + ".mode", "crash");
  r = herd({"reload", "app"});
  EXPECT_EQ(r.exit_code, 1) << r;
  ASSERT_TRUE(wait_for([&] { return file_exists(failed); }, 20s)) << read_file(path("herd.log"));
  auto env = parse_env(read_file(failed));
  EXPECT_EQ(env["HERD_EVENT"], "reload_failed");
  EXPECT_EQ(env["HERD_APP"], "app");
  EXPECT_THAT(env["HERD_REASON"], HasSubstr("exited with code 3 before it was ready"));
  EXPECT_NE(env["HERD_PID"], std::to_string(old));  // the replacement's
  EXPECT_EQ(instance(jlist(), "app")["pid"], old);
  EXPECT_FALSE(file_exists(crashed)) << read_file(crashed);
}

// A crash loop with a slow hook: the events that come while it runs are folded into one later
// run, and the runs' HERD_COALESCED add up to every crash.
TEST_F(HerdTest, CrashLoopHooksAreCoalescedNotForked) {
  std::string script = write_script("loop", "exit 1\n");
  std::string counts = path("counts");
  CommandResult r = herd({"start", script, "-n", "loop", "--max-restarts", "4", "--hook",
                          "crash=echo $HERD_COALESCED >> '" + counts + "'; sleep 2"});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_status("loop", "errored", 1, 30s, &list)) << list.dump(1);
  int crashes = instance(list, "loop")["pm2_env"].value("restart_time", -1) + 1;
  auto total = [&] {
    int sum = 0;
    std::istringstream in(read_file(counts));
    for (int n; in >> n;) sum += n;
    return sum;
  };
  EXPECT_TRUE(wait_for([&] { return total() == crashes; }, 30s))
      << "HERD_COALESCED lines: " << read_file(counts) << " crashes: " << crashes;
  std::istringstream in(read_file(counts));
  int runs = 0;
  for (int n; in >> n;) ++runs;
  EXPECT_LT(runs, crashes) << read_file(path("herd.log"));
  EXPECT_THAT(read_file(path("herd.log")), HasSubstr("the previous run is still going"));
}

}  // namespace
}  // namespace herd::e2e

namespace herd::e2e {
namespace {

// The `health` hook runs when an instance's health check changes its verdict: unhealthy with the
// last failure as the reason, and healthy again. A readiness-only check, so nothing restarts.
TEST_F(HerdTest, HealthHookRunsWhenTheVerdictChanges) {
  std::string sick = path("sick");
  std::string script = write_script("steady", "exec sleep 1000\n");
  std::string out = path("health.env");
  CommandResult r = herd({"start", script, "-n", "steady", "--cwd", home_, "--health-check",
                          "interval=300ms,failures=1,liveness=false,exec=test ! -e '" + sick + "'",
                          "--hook", "health=" + dump_env_to(out)});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_status("steady", "online", 1, kWaitTimeout, &list)) << list.dump(1);
  pid_t pid = instance(list, "steady")["pid"];

  write_file(sick, "");
  ASSERT_TRUE(wait_for([&] { return file_exists(out); }, 20s)) << read_file(path("herd.log"));
  auto env = parse_env(read_file(out));
  EXPECT_EQ(env["HERD_EVENT"], "health");
  EXPECT_EQ(env["HERD_APP"], "steady");
  EXPECT_EQ(env["HERD_PID"], std::to_string(pid));
  EXPECT_THAT(env["HERD_REASON"], HasSubstr("unhealthy: exit code 1"));

  ::unlink(out.c_str());
  ::unlink(sick.c_str());
  ASSERT_TRUE(wait_for([&] { return file_exists(out); }, 20s)) << read_file(path("herd.log"));
  EXPECT_THAT(parse_env(read_file(out))["HERD_REASON"], HasSubstr("healthy: its check passes"));
  EXPECT_EQ(instance(jlist(), "steady")["pid"], pid) << "a readiness-only check restarted it";
}

}  // namespace
}  // namespace herd::e2e
