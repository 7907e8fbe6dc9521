// Restarts that come from outside the app: cron_restart on a schedule, watch on file changes.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "e2e/herd_fixture.h"

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;

int restarts_of(const Json& list, const std::string& name) {
  return HerdTest::instance(list, name)["pm2_env"].value("restart_time", -1);
}

// The lines of herd.log that say an app is restarted, in order.
std::vector<std::string> restart_lines(const std::string& log, const std::string& app) {
  std::vector<std::string> out;
  std::string needle = "app " + app + ": restarting: ";
  std::size_t start = 0;
  while (start < log.size()) {
    std::size_t nl = log.find('\n', start);
    if (nl == std::string::npos) nl = log.size();
    std::string line = log.substr(start, nl - start);
    if (auto at = line.find(needle); at != std::string::npos) {
      out.push_back(line.substr(at + needle.size()));
    }
    start = nl + 1;
  }
  return out;
}

void touch(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::write(fd, "x", 1), 1);
  ::close(fd);
}

TEST_F(HerdTest, CronRestartRestartsTheAppOnSchedule) {
  std::string script = write_script("sleeper", "exec sleep 1000\n");
  CommandResult r = herd({"start", script, "-n", "ticker", "--cron-restart", "*/2 * * * * *"});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_status("ticker", "online", 1, kWaitTimeout, &list)) << list.dump(1);
  const Json p = instance(list, "ticker");
  pid_t first = p["pid"];
  const Json& env = p["pm2_env"];
  EXPECT_EQ(env.value("cron_restart", ""), "*/2 * * * * *");
  ASSERT_TRUE(env.contains("next_cron_restart")) << env.dump(1);
  EXPECT_GT(env["next_cron_restart"].get<std::int64_t>(), 0);

  // Every two seconds: two restarts, each with a new process.
  ASSERT_TRUE(wait_jlist(
      [&](const Json& l) {
        const Json p = instance(l, "ticker");
        return restarts_of(l, "ticker") >= 2 && p["pid"].get<int>() > 0 && p["pid"] != first;
      },
      kWaitTimeout, &list))
      << list.dump(1);
  std::vector<std::string> lines = restart_lines(read_file(path("herd.log")), "ticker");
  ASSERT_GE(lines.size(), 2u) << read_file(path("herd.log"));
  EXPECT_THAT(lines[0], HasSubstr("cron_restart \"*/2 * * * * *\" fired at "));

  CommandResult d = herd({"describe", "ticker"});
  ASSERT_EQ(d.exit_code, 0) << d;
  EXPECT_THAT(d.out, HasSubstr("cron restart"));
  EXPECT_THAT(d.out, HasSubstr("next cron restart"));
}

TEST_F(HerdTest, InvalidCronIsRefusedWithTheField) {
  std::string script = write_script("sleeper", "exec sleep 1000\n");
  CommandResult r = herd({"start", script, "--cron-restart", "0 25 * * *"});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("--cron-restart: cron \"0 25 * * *\": hour field \"25\": 25 is "
                               "out of range 0-23"));

  write_file(path("ecosystem.json"), R"({"apps": [
  {"name": "nightly", "script": ")" + script +
                                         R"(", "cron_restart": "0 3 * * * * *"}
]})");
  r = herd({"start", path("ecosystem.json")});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("cron_restart: cron \"0 3 * * * * *\": expected 5 fields"));
  EXPECT_THAT(r.err, HasSubstr("ecosystem.json"));
  // Nothing was started.
  EXPECT_TRUE(jlist().empty());
}

TEST_F(HerdTest, WatchRestartsOnceOnAChangeAndNotForIgnoredPaths) {
  std::string app = path("app");
  ASSERT_EQ(::mkdir(app.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((app + "/node_modules").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((app + "/src").c_str(), 0755), 0);
  std::string script = write_script("watched", "exec sleep 1000\n");
  CommandResult r = herd({"start", script, "-n", "w", "--cwd", app, "--watch", "--ignore-watch",
                          "node_modules,*.tmp", "--watch-delay", "0.5"});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_status("w", "online", 1, kWaitTimeout, &list)) << list.dump(1);
  pid_t first = instance(list, "w")["pid"];
  EXPECT_EQ(restarts_of(list, "w"), 0);
  EXPECT_EQ(instance(list, "w")["pm2_env"].value("watch_delay", 0), 500);

  // Ignored changes first, then real ones in a burst: one restart, and its reason names the
  // first change that counted, which is the real one (the ignored ones came earlier).
  touch(app + "/node_modules/dep.js");
  touch(app + "/scratch.tmp");
  touch(app + "/src/a.js");
  touch(app + "/src/b.js");
  touch(app + "/server.js");
  ASSERT_TRUE(wait_jlist(
      [&](const Json& l) {
        const Json p = instance(l, "w");
        return restarts_of(l, "w") >= 1 && p["pid"].get<int>() > 0 && p["pid"] != first;
      },
      kWaitTimeout, &list))
      << list.dump(1);
  ASSERT_TRUE(wait_status("w", "online", 1, kWaitTimeout, &list)) << list.dump(1);

  // A later change: the second restart. Had the burst restarted the app twice, or an ignored
  // path counted, the log would show it before this one.
  touch(app + "/src/c.js");
  ASSERT_TRUE(wait_for([&] {
    auto lines = restart_lines(read_file(path("herd.log")), "w");
    return !lines.empty() && lines.back().find("/src/c.js") != std::string::npos;
  })) << read_file(path("herd.log"));
  std::vector<std::string> lines = restart_lines(read_file(path("herd.log")), "w");
  ASSERT_EQ(lines.size(), 2u) << read_file(path("herd.log"));
  EXPECT_THAT(lines[0], HasSubstr("watch: " + app + "/src/a.js changed"));
  EXPECT_THAT(lines[1], HasSubstr("watch: " + app + "/src/c.js changed"));
  ASSERT_TRUE(
      wait_jlist([&](const Json& l) { return restarts_of(l, "w") == 2; }, kWaitTimeout, &list))
      << list.dump(1);
}

TEST_F(HerdTest, WatchPathsAndBadWatchFlags) {
  std::string script = write_script("watched", "exec sleep 1000\n");
  CommandResult r = herd({"start", script, "--watch", "--watch-delay", "soon"});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("--watch-delay takes seconds"));
  r = herd({"start", script, "--watch", "--ignore-watch", "/[unclosed/"});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("--ignore-watch: entry /[unclosed/ is not a valid regex"));

  // `--watch src` after the script: only src counts, relative to the app's cwd.
  std::string app = path("app");
  ASSERT_EQ(::mkdir(app.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((app + "/src").c_str(), 0755), 0);
  r = herd({"start", script, "-n", "only-src", "--cwd", app, "--watch", "src", "--watch-delay",
            "100ms"});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(wait_status("only-src", "online"));
  touch(app + "/outside.js");
  touch(app + "/src/inside.js");
  ASSERT_TRUE(wait_for([&] {
    return !restart_lines(read_file(path("herd.log")), "only-src").empty();
  })) << read_file(path("herd.log"));
  EXPECT_THAT(restart_lines(read_file(path("herd.log")), "only-src")[0],
              HasSubstr("watch: " + app + "/src/inside.js changed"));
}

}  // namespace
}  // namespace herd::e2e
