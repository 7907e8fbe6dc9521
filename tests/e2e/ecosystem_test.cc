// Ecosystem files through the real CLI: JSON and YAML, env + env_<name> chosen by --env, --only,
// unknown keys warned about, broken files named with their line, and increment_var.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "e2e/herd_fixture.h"

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Writes "MODE=<$MODE> GREETING=<$GREETING>" to the file $1 (relative to its cwd), then sleeps.
constexpr const char* kEnvApp =
    "echo \"MODE=$MODE GREETING=$GREETING\" > \"$1.tmp\" && mv \"$1.tmp\" \"$1\"\n"
    "exec sleep 1000\n";

std::string env_var(const Json& process, const std::string& key) {
  return process["pm2_env"]["env"].value(key, "<unset>");
}

TEST_F(HerdTest, JsonEcosystemWithEnvAndEnvProduction) {
  write_script("envapp", kEnvApp);
  // Relative script and args: resolved against the file's directory, the apps' default cwd.
  write_file(path("ecosystem.json"), R"({
  "apps": [
    {"name": "web", "script": "envapp", "args": ["web.env"], "min_uptime": 100,
     "env": {"GREETING": "hello", "MODE": "development"},
     "env_production": {"MODE": "production"}},
    {"name": "worker", "script": "envapp", "args": ["worker.env"], "min_uptime": 100,
     "env": {"MODE": "development"}}
  ]
}
)");
  CommandResult r = herd({"start", path("ecosystem.json"), "--env", "production"});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json list;
  ASSERT_TRUE(wait_jlist(
      [](const Json& l) {
        return instances(l, "web").size() == 1 && instances(l, "worker").size() == 1 &&
               l.size() == 2;
      },
      kWaitTimeout, &list))
      << list.dump(1);
  Json web = instance(list, "web"), worker = instance(list, "worker");
  EXPECT_EQ(web["pm2_env"]["status"], "online");
  EXPECT_EQ(worker["pm2_env"]["status"], "online");
  // env_production is merged over env; an app without env_production keeps its env.
  EXPECT_EQ(env_var(web, "MODE"), "production");
  EXPECT_EQ(env_var(web, "GREETING"), "hello");
  EXPECT_EQ(env_var(worker, "MODE"), "development");
  EXPECT_EQ(env_var(worker, "HERD_HOME"), home_);  // on top of the CLI's environment
  // And the processes really got it.
  EXPECT_TRUE(wait_for([&] { return file_exists(path("web.env")); }));
  EXPECT_EQ(read_file(path("web.env")), "MODE=production GREETING=hello\n");
  EXPECT_TRUE(wait_for([&] { return file_exists(path("worker.env")); }));
  EXPECT_EQ(read_file(path("worker.env")), "MODE=development GREETING=\n");
}

TEST_F(HerdTest, YamlEcosystemWithOnly) {
  write_script("envapp", kEnvApp);
  write_file(path("ecosystem.yaml"),
             "apps:\n"
             "  - name: web\n"
             "    script: envapp\n"
             "    args: [web.env]\n"
             "    min_uptime: 100\n"
             "    env:\n"
             "      MODE: development\n"
             "    env_production:\n"
             "      MODE: production\n"
             "  - name: worker\n"
             "    script: envapp\n"
             "    args: [worker.env]\n"
             "    min_uptime: 100\n"
             "    instnces: 2\n");
  CommandResult r = herd({"start", path("ecosystem.yaml"), "--only", "worker"});
  ASSERT_EQ(r.exit_code, 0) << r;
  // Unknown keys are warned about, with the line, not silently dropped.
  EXPECT_THAT(r.err, HasSubstr("instnces"));
  EXPECT_THAT(r.err, HasSubstr("ecosystem.yaml:14"));
  Json list = jlist();
  EXPECT_EQ(list.size(), 1u) << list.dump(1);
  EXPECT_EQ(instances(list, "worker").size(), 1u);
  EXPECT_TRUE(instances(list, "web").empty());

  r = herd({"start", path("ecosystem.yaml"), "--only", "web", "--env", "production"});
  ASSERT_EQ(r.exit_code, 0) << r;
  list = jlist();
  EXPECT_EQ(list.size(), 2u) << list.dump(1);
  Json web = instance(list, "web");
  EXPECT_EQ(web["pm2_env"]["status"], "online");
  EXPECT_EQ(env_var(web, "MODE"), "production");
  EXPECT_TRUE(wait_for([&] { return file_exists(path("web.env")); }));
  EXPECT_EQ(read_file(path("web.env")), "MODE=production GREETING=\n");
}

TEST_F(HerdTest, BrokenEcosystemFilesAreRefusedWithTheirLine) {
  write_script("envapp", kEnvApp);
  write_file(path("broken.json"),
             "{\n"
             "  \"apps\": [\n"
             "    {\"name\": \"x\", \"script\": \"envapp\",, }\n"
             "  ]\n"
             "}\n");
  CommandResult r = herd({"start", path("broken.json")});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("broken.json:3"));

  write_file(path("broken.yaml"),
             "apps:\n"
             "  - name: y\n"
             "    script: envapp\n"
             "    instances: [1, 2]\n");
  r = herd({"start", path("broken.yaml")});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("broken.yaml:4"));
  EXPECT_THAT(r.err, HasSubstr("instances"));

  r = herd({"start", path("missing.json")});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("missing.json"));
  // Nothing was started.
  EXPECT_TRUE(jlist().empty());
}

// PM2's increment_var: PORT=3000 in env gives instance 0 port 3000, instance 1 3001, and an
// instance added by scale the next one. A value that is not a number is refused at start.
TEST_F(HerdTest, IncrementVarGivesEachInstanceItsOwnPort) {
  write_script("portapp",
               "echo \"$PORT\" > \"port-$HERD_INSTANCE.tmp\" && mv \"port-$HERD_INSTANCE.tmp\" "
               "\"port-$HERD_INSTANCE\"\n"
               "exec sleep 1000\n");
  write_file(path("ecosystem.json"), R"({"apps": [{"name": "ports", "script": "portapp",
      "instances": 2, "exec_mode": "fork", "increment_var": "PORT", "env": {"PORT": 3000}}]})");
  CommandResult r = herd({"start", path("ecosystem.json")});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, Not(HasSubstr("increment_var")));  // no "not supported" warning any more
  ASSERT_TRUE(wait_status("ports", "online", 2));
  for (const char* index : {"0", "1"}) {
    std::string file = path(std::string("port-") + index);
    EXPECT_TRUE(wait_for([&] { return file_exists(file); })) << file;
    EXPECT_EQ(read_file(file), std::string("300") + index + "\n");
  }
  for (const Json& i : instances(jlist(), "ports")) {
    int index = i["pm2_env"]["NODE_APP_INSTANCE"].get<int>();
    EXPECT_EQ(env_var(i, "PORT"), std::to_string(3000 + index));
  }

  r = herd({"scale", "ports", "3"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(wait_for([&] { return file_exists(path("port-2")); }));
  EXPECT_EQ(read_file(path("port-2")), "3002\n");

  write_file(path("bad.json"), R"({"apps": [{"name": "bad", "script": "portapp",
      "increment_var": "PORT", "env": {"PORT": "http"}}]})");
  r = herd({"start", path("bad.json")});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("apps[0].increment_var: increment_var PORT is \"http\" in env"));
}

}  // namespace
}  // namespace herd::e2e
