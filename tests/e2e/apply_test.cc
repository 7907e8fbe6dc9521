// `herd apply` through the real CLI: three runs on a file that gains an app, changes one and
// loses one (--prune), each run's printed plan and the resulting jlist asserted; a second
// identical run changes no process; bad input gives clear errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "e2e/herd_fixture.h"

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;

constexpr const char* kTierApp =
    "trap 'exit 0' INT\n"
    "echo \"start $1 PORT=$PORT\" >> events.log\n"
    "while :; do sleep 0.05; done\n";

pid_t pid_of(const Json& list, const std::string& name) {
  auto in = HerdTest::instances(list, name);
  return in.empty() ? -1 : in[0].value("pid", -1);
}

class ApplyTest : public HerdTest {
 protected:
  // Every instance of the named apps online, and nothing else in the list.
  bool wait_online(std::vector<std::string> names, std::size_t total, Json* list) {
    return wait_jlist(
        [&](const Json& l) {
          if (l.size() != total) return false;
          for (const auto& p : l) {
            if (p["pm2_env"]["status"] != "online") return false;
          }
          for (const auto& n : names) {
            if (instances(l, n).empty()) return false;
          }
          return true;
        },
        kWaitTimeout, list);
  }
};

TEST_F(ApplyTest, ThreeRunsStartChangeAndPrune) {
  write_script("tier", kTierApp);
  // Another namespace: --prune leaves it alone.
  ASSERT_EQ(
      herd({"start", path("tier"), "--name", "ops-tool", "--namespace", "ops", "--cwd", home_})
          .exit_code,
      0);
  std::string file = path("eco.json");
  write_file(file, R"({"apps": [
    {"name": "api", "script": "tier", "args": ["api"], "env": {"PORT": "1"},
     "depends_on": {"db": "ready"}},
    {"name": "db", "script": "tier", "args": ["db"]}
  ]})");

  // Run 1: both new, db first (api depends on it).
  CommandResult r = herd({"apply", file});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out,
            "db: started (1 instance)\n"
            "api: started (1 instance)\n"
            "apply: 2 started\n")
      << r;
  Json list;
  ASSERT_TRUE(wait_online({"db", "api", "ops-tool"}, 3, &list)) << list.dump(1);
  pid_t db1 = pid_of(list, "db"), api1 = pid_of(list, "api"), ops1 = pid_of(list, "ops-tool");

  // The same file again: nothing changes, no process is touched.
  r = herd({"apply", file});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out,
            "db: unchanged\n"
            "api: unchanged\n"
            "apply: nothing to change (2 apps unchanged)\n")
      << r;
  list = jlist();
  EXPECT_EQ(pid_of(list, "db"), db1);
  EXPECT_EQ(pid_of(list, "api"), api1);

  // Run 2: api's env and instance count change, web is new.
  write_file(file, R"({"apps": [
    {"name": "api", "script": "tier", "args": ["api"], "env": {"PORT": "2"}, "instances": 2,
     "exec_mode": "fork", "depends_on": {"db": "ready"}},
    {"name": "db", "script": "tier", "args": ["db"]},
    {"name": "web", "script": "tier", "args": ["web"]}
  ]})");
  r = herd({"apply", file});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out,
            "db: unchanged\n"
            "api: restarted (env.PORT, instances 1 -> 2)\n"
            "web: started (1 instance)\n"
            "apply: 1 started, 1 restarted, 1 unchanged\n")
      << r;
  ASSERT_TRUE(wait_online({"db", "api", "web", "ops-tool"}, 5, &list)) << list.dump(1);
  EXPECT_EQ(pid_of(list, "db"), db1);
  EXPECT_NE(pid_of(list, "api"), api1);
  auto apis = instances(list, "api");
  ASSERT_EQ(apis.size(), 2u);
  for (const auto& a : apis) EXPECT_EQ(a["pm2_env"]["env"].value("PORT", ""), "2");
  pid_t web2 = pid_of(list, "web");
  std::set<pid_t> api2;
  for (const auto& a : apis) api2.insert(a.value("pid", -1));

  // Run 3 with --prune: db is gone from the file (api no longer depends on it), web scales.
  write_file(file, R"({"apps": [
    {"name": "api", "script": "tier", "args": ["api"], "env": {"PORT": "2"}, "instances": 2,
     "exec_mode": "fork"},
    {"name": "web", "script": "tier", "args": ["web"], "instances": 2, "exec_mode": "fork"}
  ]})");
  r = herd({"apply", file, "--prune"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out,
            "api: updated (depends_on)\n"
            "web: scaled (instances 1 -> 2)\n"
            "db: deleted\n"
            "apply: 1 updated, 1 scaled, 1 deleted\n")
      << r;
  ASSERT_TRUE(wait_online({"api", "web", "ops-tool"}, 5, &list)) << list.dump(1);
  EXPECT_TRUE(instances(list, "db").empty());
  EXPECT_EQ(pid_of(list, "ops-tool"), ops1);
  EXPECT_EQ(instances(list, "web")[0].value("pid", -1), web2);
  // depends_on is read live: api took the change without a restart.
  std::set<pid_t> api3;
  for (const auto& a : instances(list, "api")) api3.insert(a.value("pid", -1));
  EXPECT_EQ(api3, api2);
  EXPECT_EQ(instances(list, "api")[0]["pm2_env"].count("depends_on"), 0u);

  // And once more: nothing to do.
  r = herd({"apply", file, "--prune"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "api: unchanged\nweb: unchanged\napply: nothing to change (2 apps unchanged)\n")
      << r;
}

TEST_F(ApplyTest, ReloadsAClusterAppWhoseDefinitionChanged) {
  write_script("tier", kTierApp);
  std::string file = path("eco.json");
  write_file(file, R"({"apps": [
    {"name": "api", "script": "tier", "args": ["api"], "exec_mode": "cluster", "instances": 2,
     "env": {"PORT": "1"}}
  ]})");
  ASSERT_EQ(herd({"apply", file}).exit_code, 0);
  Json list;
  ASSERT_TRUE(wait_online({"api"}, 2, &list)) << list.dump(1);
  write_file(file, R"({"apps": [
    {"name": "api", "script": "tier", "args": ["api"], "exec_mode": "cluster", "instances": 2,
     "env": {"PORT": "3"}, "max_restarts": 5}
  ]})");
  CommandResult r = herd({"apply", file});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "api: reloaded (env.PORT, max_restarts)\napply: 1 reloaded\n") << r;
  ASSERT_TRUE(wait_online({"api"}, 2, &list)) << list.dump(1);
  for (const auto& a : instances(list, "api")) {
    EXPECT_EQ(a["pm2_env"]["env"].value("PORT", ""), "3");
    EXPECT_EQ(a["pm2_env"].value("max_restarts", 0), 5);
  }
}

TEST_F(ApplyTest, BadInputIsRefusedClearly) {
  write_script("tier", kTierApp);
  write_file(path("broken.json"), "{\"apps\": [{\"name\": \"a\", \"script\": }]}");
  CommandResult r = herd({"apply", path("broken.json")});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("broken.json:1:")) << r;

  write_file(path("eco.json"), R"({"apps": [{"name": "api", "script": "tier"}]})");
  r = herd({"apply", path("eco.json"), "--only", "nope"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("--only: no app named nope")) << r;

  r = herd({"apply", path("eco.json"), "--only", "api", "--prune"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("--prune")) << r;

  r = herd({"apply"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("usage: herd apply")) << r;

  write_file(path("dep.json"), R"({"apps": [{"name": "api", "script": "tier",
                                             "depends_on": ["ghost"]}]})");
  r = herd({"apply", path("dep.json")});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("depends_on names 'ghost'")) << r;

  // A step that fails is on its line, the others still happen, and the exit status says so.
  write_file(path("mixed.json"), R"({"apps": [{"name": "ok", "script": "tier"},
                                             {"name": "bad", "script": "./does-not-exist"}]})");
  r = herd({"apply", path("mixed.json")});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.out, HasSubstr("ok: started (1 instance)")) << r;
  EXPECT_THAT(r.out, HasSubstr("bad: start failed: ")) << r;
  EXPECT_THAT(r.out, HasSubstr("does-not-exist")) << r;
  EXPECT_TRUE(wait_status("ok", "online"));
}

}  // namespace
}  // namespace herd::e2e
