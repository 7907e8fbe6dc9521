// depends_on's parsing, cycle and unknown-name detection, and start order (app/depends.h), and
// apply's plan (app/apply_plan.h).
#include "app/depends.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "app/apply_plan.h"
#include "app/ecosystem.h"

namespace herd::manager {
namespace {

using nlohmann::json;

AppSpec app(std::string name, std::map<std::string, std::string> deps = {}) {
  AppSpec a;
  a.name = std::move(name);
  a.script = "/bin/true";
  a.depends_on = std::move(deps);
  return a;
}

TEST(DependsOnTest, ParsesListsMapsAndComposeForms) {
  auto list = parse_depends_on(json::parse(R"(["db", "cache"])"));
  ASSERT_TRUE(list);
  EXPECT_EQ(*list, (std::map<std::string, std::string>{{"db", "started"}, {"cache", "started"}}));
  auto one = parse_depends_on(json("db"));
  ASSERT_TRUE(one);
  EXPECT_EQ(one->at("db"), "started");
  auto map = parse_depends_on(json::parse(
      R"({"db": "healthy", "mig": "completed_successfully", "c": {"condition": "service_started"},
          "d": "process_healthy", "e": "ready", "f": {}})"));
  ASSERT_TRUE(map) << map.error().context();
  EXPECT_EQ(*map, (std::map<std::string, std::string>{{"db", "ready"},
                                                      {"mig", "completed"},
                                                      {"c", "started"},
                                                      {"d", "ready"},
                                                      {"e", "ready"},
                                                      {"f", "started"}}));
}

TEST(DependsOnTest, RefusesUnknownConditionsAndBadValues) {
  auto bad = parse_depends_on(json::parse(R"({"db": "warm"})"));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().context().find("unknown condition 'warm' for 'db'"), std::string::npos)
      << bad.error().context();
  EXPECT_FALSE(parse_depends_on(json(3)));
  EXPECT_FALSE(parse_depends_on(json::parse(R"([""])")));
  EXPECT_FALSE(parse_depends_on(json::parse(R"({"db": 1})")));
  // In a file, the error names the app and the key.
  auto eco = parse_ecosystem(R"({"apps": [{"name": "api", "script": "/bin/true",
                                          "depends_on": {"db": "warm"}}]})",
                             EcosystemFormat::kJson, "eco.json", "/srv", {});
  ASSERT_FALSE(eco);
  EXPECT_NE(eco.error().context().find("depends_on"), std::string::npos) << eco.error().context();
}

TEST(DependsOnTest, FindsCyclesAndUnknownNames) {
  std::vector<AppSpec> apps = {app("a", {{"b", "started"}}), app("b", {{"c", "ready"}}),
                               app("c", {{"a", "started"}}), app("d")};
  auto s = check_dependencies(apps, nullptr);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().context(), "depends_on cycle: a -> b -> c -> a");

  auto self = check_dependencies({app("a", {{"a", "started"}})}, nullptr);
  ASSERT_FALSE(self);
  EXPECT_NE(self.error().context().find("names the app itself"), std::string::npos);

  std::vector<AppSpec> unknown = {app("api", {{"db", "started"}})};
  auto u = check_dependencies(unknown, nullptr);
  ASSERT_FALSE(u);
  EXPECT_NE(u.error().context().find("app 'api': depends_on names 'db'"), std::string::npos);
  // An app the daemon runs will do.
  EXPECT_TRUE(check_dependencies(unknown, [](const std::string& n) { return n == "db"; }));
  // A diamond is no cycle.
  EXPECT_TRUE(
      check_dependencies({app("w", {{"a", "started"}, {"b", "started"}}),
                          app("a", {{"db", "started"}}), app("b", {{"db", "started"}}), app("db")},
                         nullptr));
}

TEST(DependsOnTest, OrdersDependenciesFirstAndKeepsTheFileOrderOtherwise) {
  std::vector<AppSpec> apps = {app("web", {{"api", "ready"}}), app("api", {{"db", "started"}}),
                               app("x"), app("db"), app("y", {{"elsewhere", "started"}})};
  std::vector<std::string> names;
  for (const auto& a : in_dependency_order(apps)) names.push_back(a.name);
  EXPECT_EQ(names, (std::vector<std::string>{"x", "db", "api", "web", "y"}));
}

TEST(DependsOnTest, RoundTripsThroughJsonAndIsLeftOutWhenEmpty) {
  AppSpec a = app("api", {{"db", "ready"}});
  json j = to_json(a);
  EXPECT_EQ(j["depends_on"], json::parse(R"({"db": "ready"})"));
  auto back = app_spec_from_json(j);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->depends_on, a.depends_on);
  EXPECT_FALSE(to_json(app("db")).contains("depends_on"));
}

RunningApp running(const AppSpec& spec, int n, bool reloadable = false) {
  return RunningApp{
      .spec = spec, .instances = n, .running = true, .reloadable = reloadable, .settled = false};
}

std::vector<std::string> lines(const std::vector<ApplyStep>& steps) {
  std::vector<std::string> out;
  for (const auto& s : steps) {
    std::string l = s.app + " " + apply_action_name(s.action);
    for (const auto& c : s.changes) l += " [" + c + "]";
    out.push_back(l);
  }
  return out;
}

TEST(ApplyPlanTest, StartsChangesScalesAndLeavesAlone) {
  AppSpec db = app("db"), api = app("api", {{"db", "ready"}}), web = app("web");
  AppSpec api2 = api;
  api2.app_env["PORT"] = "2";
  api2.env["PORT"] = "2";
  api2.env["SHELL_VAR"] = "only the shell's";  // not the file's: not a change
  AppSpec web2 = web;
  web2.max_restarts = 3;
  AppSpec cl = app("cl");
  cl.exec_mode = ExecMode::kCluster;
  AppSpec cl2 = cl;
  cl2.args = {"--v2"};
  std::vector<RunningApp> daemon = {running(db, 1), running(api, 1), running(web, 1),
                                    running(cl, 2, true), running(app("gone"), 1)};
  std::vector<AppSpec> file = {api2, db, web2, cl2, app("new")};
  auto steps = plan_apply(file, {3, 1, 1, 2, 1}, daemon, {});
  EXPECT_EQ(lines(steps), (std::vector<std::string>{
                              "db unchanged", "api restarted [env.PORT] [instances 1 -> 3]",
                              "web updated [max_restarts]", "cl reloaded [args]", "new started"}));
  // Only the count: a scale.
  steps = plan_apply({db}, {4}, daemon, {});
  EXPECT_EQ(lines(steps), (std::vector<std::string>{"db scaled [instances 1 -> 4]"}));
}

TEST(ApplyPlanTest, PruneStaysInTheFileNamespacesAndForcedVerbsApplyToEveryRunningApp) {
  AppSpec db = app("db");
  AppSpec other = app("other");
  other.namespace_ = "ops";
  AppSpec stopped = app("stopped");
  std::vector<RunningApp> daemon = {running(db, 1), running(other, 1), running(app("old"), 2),
                                    RunningApp{.spec = stopped, .instances = 1, .settled = false}};
  auto steps = plan_apply({db, stopped}, {1, 1}, daemon, {.prune = true});
  EXPECT_EQ(lines(steps),
            (std::vector<std::string>{"db unchanged", "stopped started", "old deleted"}));

  // A job that completed, or an app registered with autostart false, is left as it is.
  AppSpec job = app("job");
  job.autorestart = false;
  AppSpec job2 = job;
  job2.args = {"--again"};
  daemon.push_back(RunningApp{.spec = job, .instances = 1, .running = false, .settled = true});
  steps = plan_apply({job}, {1}, daemon, {});
  EXPECT_EQ(lines(steps), (std::vector<std::string>{"job unchanged"}));
  steps = plan_apply({job2}, {1}, daemon, {});
  EXPECT_EQ(lines(steps), (std::vector<std::string>{"job started"}));

  steps = plan_apply({db}, {1}, daemon, {.unchanged = ApplyAction::kReload});
  EXPECT_EQ(lines(steps), (std::vector<std::string>{"db reloaded"}));
  AppSpec listen = db;
  listen.listen = {"127.0.0.1:9"};
  steps = plan_apply({listen}, {1}, daemon, {.unchanged = ApplyAction::kRestart});
  EXPECT_EQ(lines(steps), (std::vector<std::string>{"db recreated [listen]"}));
}

}  // namespace
}  // namespace herd::manager
