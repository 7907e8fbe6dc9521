// `herd serve`'s command line (src/cli/serve_args.h): PM2's defaults and flags, the app it makes,
// and what is refused.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "cli/serve_args.h"
#include "support/temp_dir.h"

namespace herd::cli {
namespace {

using Env = std::map<std::string, std::string>;

class CliServeTest : public ::testing::Test {
 protected:
  Result<ServeCommand> parse(const std::vector<std::string>& args, const Env& env = {}) {
    return parse_serve(args, dir_.path(), env);
  }
  test::TempDir dir_{"cli-serve"};
};

TEST_F(CliServeTest, Pm2Defaults) {
  auto c = parse({});
  ASSERT_TRUE(c) << c.error().context();
  EXPECT_EQ(c->folder, dir_.path());
  EXPECT_EQ(c->port, 8080);
  EXPECT_EQ(serve_address(*c), "0.0.0.0:8080");
  manager::AppSpec app = serve_app(*c, "/opt/herd/bin/herd", {{"PATH", "/usr/bin"}});
  EXPECT_EQ(app.name, "static-page-server-8080");
  EXPECT_EQ(app.script, "/opt/herd/bin/herd");
  EXPECT_EQ(app.interpreter, "none");
  EXPECT_EQ(app.args, (std::vector<std::string>{"serve", "--foreground", dir_.path(), "8080"}));
  EXPECT_EQ(app.cwd, dir_.path());
  EXPECT_EQ(app.exec_mode, manager::ExecMode::kFork);
  EXPECT_EQ(app.env, (Env{{"PATH", "/usr/bin"}}));
  EXPECT_TRUE(app.listen.empty());
}

TEST_F(CliServeTest, PathPortAndFlags) {
  dir_.write("dist/index.html", "x");
  auto c = parse({"dist/", "--port", "9000"});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->folder, dir_.path() + "/dist");
  EXPECT_EQ(c->port, 9000);
  // The second word wins over --port, as in PM2.
  c = parse({"--port=9000", "./dist/../dist", "9001", "--spa", "--host", "::1", "--name", "web"});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->folder, dir_.path() + "/dist");
  EXPECT_EQ(c->port, 9001);
  EXPECT_EQ(serve_address(*c), "[::1]:9001");
  manager::AppSpec app = serve_app(*c, "/herd", {});
  EXPECT_EQ(app.name, "web");
  EXPECT_EQ(app.args, (std::vector<std::string>{"serve", "--foreground", dir_.path() + "/dist",
                                                "9001", "--spa", "--host", "::1"}));
  // PM2's variables in the caller's environment do not change what the command line says.
  c = parse({}, {{"PM2_SERVE_PORT", "7000"}, {"PM2_SERVE_PATH", "/nope"}});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->port, 8080);
  EXPECT_EQ(c->folder, dir_.path());
}

// In the server's own process, PM2's variables come before its command line, as Serve.js reads
// them.
TEST_F(CliServeTest, Pm2ServeVariablesComeFirstInTheServersProcess) {
  dir_.write("dist/index.html", "x");
  dir_.write("www/index.html", "x");
  auto c = parse({"--foreground", "www", "9001"}, {{"PM2_SERVE_PATH", "dist"},
                                                   {"PM2_SERVE_PORT", "9002"},
                                                   {"PM2_SERVE_HOST", "127.0.0.1"},
                                                   {"PM2_SERVE_SPA", "true"}});
  ASSERT_TRUE(c) << c.error().context();
  EXPECT_EQ(c->folder, dir_.path() + "/dist");
  EXPECT_EQ(c->port, 9002);
  EXPECT_EQ(serve_address(*c), "127.0.0.1:9002");
  EXPECT_TRUE(c->spa);
  EXPECT_FALSE(parse({"--foreground"}, {{"PM2_SERVE_PORT", "http"}}));
}

// An ecosystem app whose script is "serve" becomes herd's server; its own settings stay.
TEST_F(CliServeTest, EcosystemScriptServe) {
  dir_.write("dist/index.html", "x");
  manager::AppSpec app;
  app.name = "static";
  app.script = "serve";
  app.cwd = dir_.path();
  app.instances = "2";
  app.env = {{"PM2_SERVE_PATH", "dist"}, {"PM2_SERVE_PORT", "9003"}, {"PATH", "/usr/bin"}};
  app.app_env = {{"PM2_SERVE_PATH", "dist"}, {"PM2_SERVE_PORT", "9003"}};
  auto served = as_ecosystem_serve_app(app, "/opt/herd/bin/herd");
  ASSERT_TRUE(served) << served.error().context();
  EXPECT_TRUE(*served);
  EXPECT_EQ(app.name, "static");
  EXPECT_EQ(app.script, "/opt/herd/bin/herd");
  EXPECT_EQ(app.args,
            (std::vector<std::string>{"serve", "--foreground", dir_.path() + "/dist", "9003"}));
  EXPECT_EQ(app.cwd, dir_.path() + "/dist");
  EXPECT_FALSE(app.env.contains("PM2_SERVE_PATH"));                    // the command line says it
  EXPECT_EQ(app.app_env.at("PM2_SERVE_PATH"), dir_.path() + "/dist");  // resolved once, here
  EXPECT_EQ(app.exec_mode, manager::ExecMode::kCluster);
  EXPECT_EQ(app.listen, (std::vector<std::string>{"0.0.0.0:9003"}));
  // A file named serve in the app's cwd is that program, as in PM2.
  manager::AppSpec own;
  own.script = "serve";
  own.cwd = dir_.path();
  dir_.write("serve", "#!/bin/sh\n");
  served = as_ecosystem_serve_app(own, "/opt/herd/bin/herd");
  ASSERT_TRUE(served);
  EXPECT_FALSE(*served);
  EXPECT_EQ(own.script, "serve");
}

TEST_F(CliServeTest, InstancesShareAPortHerdHolds) {
  auto c = parse({".", "8081", "-i", "2", "--host", "127.0.0.1", "--namespace", "static"});
  ASSERT_TRUE(c);
  manager::AppSpec app = serve_app(*c, "/herd", {});
  EXPECT_EQ(app.instances, "2");
  EXPECT_EQ(app.exec_mode, manager::ExecMode::kCluster);
  EXPECT_EQ(app.listen, (std::vector<std::string>{"127.0.0.1:8081"}));
  EXPECT_FALSE(app.inject);
  EXPECT_EQ(app.namespace_, "static");
}

TEST_F(CliServeTest, CredentialsTravelInTheEnvironmentOnly) {
  auto c = parse({"--basic-auth-username", "ann", "--basic-auth-password=p:w"});
  ASSERT_TRUE(c);
  manager::AppSpec app = serve_app(*c, "/herd", {{"PM2_SERVE_BASIC_AUTH_USERNAME", "shell"}});
  Env auth{{"PM2_SERVE_BASIC_AUTH", "true"},
           {"PM2_SERVE_BASIC_AUTH_USERNAME", "ann"},
           {"PM2_SERVE_BASIC_AUTH_PASSWORD", "p:w"}};
  EXPECT_EQ(app.env, auth);
  EXPECT_EQ(app.app_env, auth);
  for (const auto& a : app.args) EXPECT_EQ(a.find("p:w"), std::string::npos) << a;
  // Without credentials, none from the caller's shell reach the app.
  c = parse({});
  ASSERT_TRUE(c);
  app = serve_app(*c, "/herd", auth);
  EXPECT_TRUE(app.env.empty());
  // --foreground reads them back from PM2's variables.
  c = parse({"--foreground"}, auth);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->user, "ann");
  EXPECT_EQ(c->password, "p:w");
  c = parse({"--foreground"}, {{"PM2_SERVE_BASIC_AUTH_USERNAME", "ann"}});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->user, "");
}

TEST_F(CliServeTest, MonitorIsAcceptedWithAWarning) {
  auto c = parse({"--monitor", "front", ".", "8082"});
  ASSERT_TRUE(c) << c.error().context();
  EXPECT_EQ(c->port, 8082);
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_NE(c->warnings[0].find("PM2.io"), std::string::npos);
  c = parse({".", "8082", "--monitor"});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->warnings.size(), 1u);
}

TEST_F(CliServeTest, Refused) {
  dir_.write("file.txt", "x");
  struct {
    std::vector<std::string> args;
    const char* says;
  } cases[] = {
      {{"missing"}, "No such file or directory"},
      {{"file.txt"}, "not a folder"},
      {{".", "0"}, "from 1 to 65535"},
      {{".", "65536"}, "from 1 to 65535"},
      {{".", "80a"}, "from 1 to 65535"},
      {{".", "--port"}, "--port needs a value"},
      {{".", "1", "2"}, "third word"},
      {{"--ftp"}, "--ftp"},
      {{"--basic-auth-password", "p"}, "both"},
      {{"--cwd", "/"}, "--cwd does not apply to serve"},
      {{"--watch"}, "--watch does not apply to serve"},
      {{"--listen", ":9"}, "--listen does not apply to serve"},
      {{"-x"}, "-x does not apply to serve"},
      {{"--host", "/tmp/sock"}, "--host"},
      {{"--host", "not an address"}, "--host"},
      {{"--name", "all"}, "all"},
      {{"--bogus"}, "unknown option '--bogus'"},
      {{"8080"}, "herd serve . 8080"},
  };
  for (const auto& c : cases) {
    auto r = parse(c.args);
    ASSERT_FALSE(r) << c.args[0];
    EXPECT_NE(r.error().context().find(c.says), std::string::npos)
        << r.error().context() << " (wanted: " << c.says << ")";
  }
}

}  // namespace
}  // namespace herd::cli
