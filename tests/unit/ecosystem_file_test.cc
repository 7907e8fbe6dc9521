// Ecosystem files on disk: JSON and YAML files, and .js files evaluated by node.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

#include "app/command.h"
#include "app/ecosystem.h"
#include "app_spec_util.h"

namespace herd::manager {
namespace {

using test::TempDir;

TEST(EcosystemFileTest, LoadsJsonAndYamlFiles) {
  TempDir dir;
  std::string json_path = dir.write("conf/ecosystem.json", R"({"apps": [{"script": "a.py"}]})");
  std::string yaml_path = dir.write("conf/ecosystem.yml", "apps:\n  - script: a.py\n");
  for (const std::string& path : {json_path, yaml_path, dir / "conf/./../conf/ecosystem.json"}) {
    auto r = load_ecosystem(path, {});
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(r->apps.size(), 1u);
    EXPECT_EQ(r->apps[0].cwd, dir / "conf");
    EXPECT_EQ(r->apps[0].name, "a");
  }
  dir.write("conf/broken.yaml", "apps:\n  - script: a\n    instances: [\n");
  auto broken = load_ecosystem(dir / "conf/broken.yaml", {});
  ASSERT_FALSE(broken);
  EXPECT_TRUE(broken.error().context().starts_with(dir / "conf/broken.yaml:4:1: "))
      << broken.error().context();

  auto missing = load_ecosystem(dir / "nope.json", {});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ENOENT);
  EXPECT_EQ(missing.error().context(), "ecosystem file not found: " + (dir / "nope.json"));
  auto unknown = load_ecosystem(dir / "apps.txt", {});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), EINVAL);
}

class EcosystemNodeTest : public testing::Test {
 protected:
  void SetUp() override {
    if (!find_in_path("node", std::getenv("PATH") ? std::getenv("PATH") : "")) {
      GTEST_SKIP() << "node is not installed";
    }
  }
  TempDir dir_;
};

TEST_F(EcosystemNodeTest, EvaluatesConfigJs) {
  dir_.write("package.json", "{}");
  std::string path = dir_.write("ecosystem.config.js", R"(
const path = require('path');
console.log('configs may log');
module.exports = {
  apps: [{
    name: 'api',
    script: './server.py',
    cwd: __dirname,
    instances: 'max',
    env: { PORT: 8080 },
    env_production: { NODE_ENV: 'production' },
    watch: false,
    post_update: ['npm install'],
  }, {
    script: path.join(__dirname, 'worker.js'),
    args: ['--n', 2],
  }],
};
)");
  EcosystemOptions opts;
  opts.env_name = "production";
  auto r = load_ecosystem(path, opts);
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->apps.size(), 2u);
  EXPECT_EQ(r->apps[0].name, "api");
  EXPECT_EQ(r->apps[0].cwd, dir_.path());
  EXPECT_EQ(r->apps[0].instances, "max");
  EXPECT_EQ(r->apps[0].env.at("PORT"), "8080");
  EXPECT_EQ(r->apps[0].env.at("NODE_ENV"), "production");
  EXPECT_EQ(r->apps[1].name, "worker");
  EXPECT_EQ(r->apps[1].args, (std::vector<std::string>{"--n", "2"}));
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_EQ(r->warnings[0], path + ": apps[0] (api): post_update belongs to PM2's deploy; ignored");
}

TEST_F(EcosystemNodeTest, EvaluatesEsModules) {
  std::string mjs = dir_.write("ecosystem.config.mjs",
                               "export default { apps: [{ script: 'a.py', instances: 2 }] };\n");
  dir_.write("esm/package.json", R"({"type": "module"})");
  std::string js = dir_.write("esm/ecosystem.config.js",
                              "export const apps = [{ name: 'b', script: 'b.py' }];\n");
  auto r = load_ecosystem(mjs, {});
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->apps.at(0).instances, "2");
  r = load_ecosystem(js, {});
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->apps.at(0).name, "b");
  EXPECT_EQ(r->apps.at(0).cwd, dir_ / "esm");
}

TEST_F(EcosystemNodeTest, ErrorsComeFromNodeWithTheLine) {
  std::string syntax =
      dir_.write("bad.config.js", "module.exports = {\n  apps: [\n    {script: ,}\n  ]\n};\n");
  auto r = load_ecosystem(syntax, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), EINVAL);
  EXPECT_NE(r.error().context().find(syntax + ": node could not evaluate it:"), std::string::npos);
  EXPECT_NE(r.error().context().find(syntax + ":3"), std::string::npos) << r.error().context();
  EXPECT_NE(r.error().context().find("SyntaxError"), std::string::npos) << r.error().context();

  std::string throws = dir_.write("throws.config.js", "throw new Error('no config for you');\n");
  r = load_ecosystem(throws, {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().context().find("no config for you"), std::string::npos);

  std::string typed =
      dir_.write("typed.config.js", "module.exports = {apps: [{script: 'a', instances: true}]};\n");
  r = load_ecosystem(typed, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().context(),
            typed + ": apps[0].instances: expected a number or \"max\", got true");
}

TEST_F(EcosystemNodeTest, DeeplyNestedExportsAreRefused) {
  std::string deep = dir_.write("deep.config.js",
                                "let v = 1;\nfor (let i = 0; i < 1000; i++) v = [v];\n"
                                "module.exports = {apps: [{script: 'a', env: {X: v}}]};\n");
  auto r = load_ecosystem(deep, {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().context().find("nested deeper than 64 levels"), std::string::npos)
      << r.error().context();
}

// Needs no node: the point is what happens without one.
TEST(EcosystemFileTest, MissingNodeIsAClearError) {
  TempDir dir_;
  std::string path = dir_.write("ecosystem.config.js", "module.exports = {apps: []};\n");
  EcosystemOptions opts;
  opts.base_env = {{"PATH", "/nonexistent"}};
  auto r = load_ecosystem(path, opts);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ENOENT);
  EXPECT_NE(r.error().context().find("needs node (not found in PATH)"), std::string::npos)
      << r.error().context();
}

}  // namespace
}  // namespace herd::manager
