// depends_on through the real CLI: apps started in dependency order and stopped in reverse, a
// cycle and an unknown name refused with the names, a failed dependency leaving its dependants
// visibly waiting, and the `completed` condition with a one-shot job.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "e2e/herd_fixture.h"

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;

// Appends "start <name>" to events.log, and "stop <name>" on SIGINT; $1 is the name.
constexpr const char* kTierApp =
    "trap 'echo \"stop $1\" >> events.log; exit 0' INT\n"
    "echo \"start $1\" >> events.log\n"
    "while :; do sleep 0.05; done\n";

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t nl = text.find('\n', at);
    if (nl == std::string::npos) nl = text.size();
    out.push_back(text.substr(at, nl - at));
    at = nl + 1;
  }
  return out;
}

// Where `line` is among `lines` (lines.size() when it is not).
std::ptrdiff_t index_of(const std::vector<std::string>& lines, const std::string& line) {
  return std::find(lines.begin(), lines.end(), line) - lines.begin();
}

TEST_F(HerdTest, DependsOnStartsInOrderAndStopsInReverse) {
  write_script("tier", kTierApp);
  // web is listed first: the order comes from depends_on, not from the file.
  write_file(path("eco.json"), R"({"apps": [
    {"name": "web", "script": "tier", "args": ["web"], "depends_on": {"api": "ready"}},
    {"name": "api", "script": "tier", "args": ["api"], "depends_on": ["db"],
     "wait_ready": false},
    {"name": "db", "script": "tier", "args": ["db"]},
    {"name": "other", "script": "tier", "args": ["other"]}
  ]})");
  CommandResult r = herd({"start", path("eco.json")});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_jlist(
      [](const Json& l) {
        for (const char* n : {"db", "api", "web", "other"}) {
          auto in = instances(l, n);
          if (in.size() != 1 || in[0]["pm2_env"]["status"] != "online") return false;
        }
        return true;
      },
      kWaitTimeout, &list))
      << list.dump(1);
  ASSERT_TRUE(wait_for([&] { return lines_of(read_file(path("events.log"))).size() == 4; }));
  auto started = lines_of(read_file(path("events.log")));
  auto pos = [&](const std::string& line) { return index_of(started, line); };
  EXPECT_LT(pos("start db"), pos("start api")) << read_file(path("events.log"));
  EXPECT_LT(pos("start api"), pos("start web")) << read_file(path("events.log"));
  // Instance start timestamps agree.
  EXPECT_LE(instance(list, "db")["pm2_env"]["created_at"].get<std::uint64_t>(),
            instance(list, "api")["pm2_env"]["created_at"].get<std::uint64_t>());
  EXPECT_LE(instance(list, "api")["pm2_env"]["created_at"].get<std::uint64_t>(),
            instance(list, "web")["pm2_env"]["created_at"].get<std::uint64_t>());
  // jlist and describe show the dependencies.
  EXPECT_EQ(instance(list, "web")["pm2_env"].value("depends_on", ""), "api (ready)");
  CommandResult d = herd({"describe", "api"});
  EXPECT_THAT(d.out, HasSubstr("db (started)")) << d;

  write_file(path("events.log"), "");
  r = herd({"stop", "all"});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(wait_for([&] { return lines_of(read_file(path("events.log"))).size() == 4; }));
  auto stopped = lines_of(read_file(path("events.log")));
  auto spos = [&](const std::string& line) { return index_of(stopped, line); };
  EXPECT_LT(spos("stop web"), spos("stop api")) << read_file(path("events.log"));
  EXPECT_LT(spos("stop api"), spos("stop db")) << read_file(path("events.log"));
  EXPECT_LT(spos("stop other"), 4);
}

TEST_F(HerdTest, DependsOnCycleAndUnknownNameAreRefusedWithTheNames) {
  write_script("tier", kTierApp);
  write_file(path("cycle.json"), R"({"apps": [
    {"name": "a", "script": "tier", "depends_on": ["b"]},
    {"name": "b", "script": "tier", "depends_on": ["c"]},
    {"name": "c", "script": "tier", "depends_on": ["a"]}
  ]})");
  CommandResult r = herd({"start", path("cycle.json")});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("depends_on cycle: a -> b -> c -> a")) << r;

  write_file(path("unknown.json"), R"({"apps": [
    {"name": "api", "script": "tier", "depends_on": ["dbx"]}
  ]})");
  r = herd({"start", path("unknown.json")});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("app 'api': depends_on names 'dbx'")) << r;

  write_file(path("cond.json"), R"({"apps": [
    {"name": "db", "script": "tier"},
    {"name": "api", "script": "tier", "depends_on": {"db": "warm"}}
  ]})");
  r = herd({"start", path("cond.json")});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("unknown condition 'warm' for 'db'")) << r;
  EXPECT_THAT(r.err, HasSubstr("depends_on")) << r;
  // Nothing was started by any of them.
  EXPECT_EQ(jlist().size(), 0u);

  // A dependency that is not in the file but already runs in the daemon is fine.
  r = herd({"start", path("tier"), "--name", "dbx", "--cwd", home_});
  ASSERT_EQ(r.exit_code, 0) << r;
  r = herd({"start", path("unknown.json")});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(wait_status("api", "online")) << jlist().dump(1);
}

TEST_F(HerdTest, FailedDependencyLeavesDependantsWaitingVisibly) {
  write_script("tier", kTierApp);
  write_script("fails", "exit 1\n");
  write_file(path("eco.json"), R"({"apps": [
    {"name": "db", "script": "fails", "autorestart": false},
    {"name": "api", "script": "tier", "args": ["api"], "depends_on": {"db": "ready"}}
  ]})");
  CommandResult r = herd({"start", path("eco.json")});
  Json list;
  ASSERT_TRUE(wait_jlist(
      [](const Json& l) {
        auto db = instances(l, "db");
        auto api = instances(l, "api");
        return db.size() == 1 && db[0]["pm2_env"]["status"] == "stopped" && api.size() == 1 &&
               api[0]["pm2_env"].value("status_text", "") == "waiting for db (stopped)";
      },
      kWaitTimeout, &list))
      << list.dump(1);
  EXPECT_EQ(instance(list, "api")["pm2_env"]["status"], "waiting");
  EXPECT_EQ(instance(list, "api").value("pid", -1), 0);
  CommandResult ls = herd({"ls"});
  EXPECT_THAT(ls.out, HasSubstr("waiting")) << ls;
  CommandResult d = herd({"describe", "api"});
  EXPECT_THAT(d.out, HasSubstr("waiting for db (stopped)")) << d;
  // A restart of everything does not start it blindly either.
  r = herd({"restart", "all"});
  ASSERT_TRUE(wait_jlist([](const Json& l) {
    auto db = instances(l, "db");
    return db.size() == 1 && db[0]["pm2_env"]["status"] == "stopped" &&
           db[0]["pm2_env"].value("restart_time", 0) >= 1;
  })) << jlist().dump(1);
  EXPECT_EQ(instance(jlist(), "api")["pm2_env"]["status"], "waiting");
  EXPECT_FALSE(file_exists(path("events.log")));
  EXPECT_THAT(read_file(path("herd.log")), HasSubstr("app 'api': waiting for db"));
}

TEST_F(HerdTest, CompletedConditionWaitsForAOneShotJobToExitZero) {
  write_script("tier", kTierApp);
  // The migration takes until a file appears, then exits 0.
  write_script("migrate",
               "echo 'start migrate' >> events.log\n"
               "while [ ! -e go ]; do sleep 0.05; done\n"
               "echo 'done migrate' >> events.log\n");
  write_file(path("eco.json"), R"({"apps": [
    {"name": "api", "script": "tier", "args": ["api"],
     "depends_on": {"migrate": "completed_successfully"}},
    {"name": "migrate", "script": "migrate", "autorestart": false}
  ]})");
  CommandResult r = herd({"start", path("eco.json")});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_jlist(
      [](const Json& l) {
        auto api = instances(l, "api");
        return api.size() == 1 &&
               api[0]["pm2_env"].value("status_text", "") == "waiting for migrate (online)";
      },
      kWaitTimeout, &list))
      << list.dump(1);
  EXPECT_EQ(instance(list, "api")["pm2_env"]["status"], "waiting");
  write_file(path("go"), "");
  ASSERT_TRUE(wait_status("api", "online")) << jlist().dump(1);
  auto events = lines_of(read_file(path("events.log")));
  ASSERT_EQ(events.size(), 3u) << read_file(path("events.log"));
  EXPECT_EQ(events[1], "done migrate");
  EXPECT_EQ(events[2], "start api");
  EXPECT_EQ(instance(jlist(), "migrate")["pm2_env"]["status"], "stopped");
  // apply of the same file leaves the completed job alone: it does not run it again.
  r = herd({"apply", path("eco.json")});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out,
            "migrate: unchanged\napi: unchanged\napply: nothing to change (2 apps unchanged)\n")
      << r;
  EXPECT_EQ(lines_of(read_file(path("events.log"))).size(), 3u);
}

// depends_on is part of the saved description: `herd kill` stops in reverse order, and
// `resurrect` starts in dependency order again.
TEST_F(HerdTest, DependsOnIsSavedAndKillAndResurrectKeepTheOrder) {
  write_script("tier", kTierApp);
  write_file(path("eco.json"), R"({"apps": [
    {"name": "api", "script": "tier", "args": ["api"], "depends_on": {"db": "ready"}},
    {"name": "db", "script": "tier", "args": ["db"]}
  ]})");
  ASSERT_EQ(herd({"start", path("eco.json")}).exit_code, 0);
  ASSERT_TRUE(wait_status("api", "online")) << jlist().dump(1);
  ASSERT_EQ(herd({"save"}).exit_code, 0);
  Json dump = Json::parse(read_file(path("dump.json")));
  bool found = false;
  for (const auto& a : dump["apps"]) {
    if (a.value("name", "") == "api") {
      found = true;
      EXPECT_EQ(a["depends_on"], Json::parse(R"({"db": "ready"})")) << a.dump(1);
    }
  }
  EXPECT_TRUE(found) << dump.dump(1);

  write_file(path("events.log"), "");
  CommandResult r = herd({"kill"});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(wait_for([&] { return lines_of(read_file(path("events.log"))).size() == 2; }));
  EXPECT_EQ(read_file(path("events.log")), "stop api\nstop db\n");

  write_file(path("events.log"), "");
  r = herd({"resurrect"});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(wait_status("api", "online")) << jlist().dump(1);
  ASSERT_TRUE(wait_for([&] { return lines_of(read_file(path("events.log"))).size() == 2; }));
  EXPECT_EQ(read_file(path("events.log")), "start db\nstart api\n");
}

}  // namespace
}  // namespace herd::e2e
