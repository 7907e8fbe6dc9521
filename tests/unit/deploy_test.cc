// The files in deploy/ agree with herd and with each other: the probes ask the paths and the
// port herd's runtime serves them on, grace periods outlast the ecosystem file's kill_timeout,
// the container has a CPU limit for `instances: max` to count, and the systemd unit is a valid
// Type=notify unit (checked by systemd-analyze where it is installed).
#include <gtest/gtest.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "support/child.h"

namespace {

const std::string kDeploy = std::string(HERD_SOURCE_DIR) + "/deploy/";

std::string read(const std::string& name) {
  std::ifstream in(kDeploy + name);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The ecosystem file's largest kill_timeout, in seconds (rounded up).
int kill_timeout_s() {
  auto eco = nlohmann::json::parse(read("ecosystem.json"));
  int ms = 1600;  // herd's default
  for (const auto& app : eco.at("apps")) ms = std::max(ms, app.value("kill_timeout", 1600));
  return (ms + 999) / 1000;
}

// The value after `flag` in a runtime command line.
std::string flag_value(const std::vector<std::string>& args, const std::string& flag) {
  auto it = std::find(args.begin(), args.end(), flag);
  return it == args.end() || it + 1 == args.end() ? "" : *(it + 1);
}

// The Dockerfile's ENTRYPOINT, as its JSON array.
std::vector<std::string> entrypoint() {
  std::smatch m;
  std::string text = read("Dockerfile");
  EXPECT_TRUE(std::regex_search(text, m, std::regex("\nENTRYPOINT (\\[.*\\])\n")));
  return nlohmann::json::parse(m[1].str()).get<std::vector<std::string>>();
}

TEST(Deploy, DockerfileRunsHerdRuntimeWithTheProbesReachable) {
  auto ep = entrypoint();
  ASSERT_GE(ep.size(), 2u);
  EXPECT_EQ(ep[0], "herd");
  EXPECT_EQ(ep[1], "runtime");
  EXPECT_EQ(flag_value(ep, "--metrics-addr"), "0.0.0.0");
  std::string port = flag_value(ep, "--metrics-port");
  EXPECT_NE(read("Dockerfile").find("EXPOSE 8080 " + port), std::string::npos);
  EXPECT_NE(read("Dockerfile").find("COPY deploy/ecosystem.json /app/ecosystem.json"),
            std::string::npos);
}

TEST(Deploy, KubernetesProbesAndGraceMatchHerd) {
  std::vector<YAML::Node> docs = YAML::LoadAll(read("kubernetes.yaml"));
  ASSERT_EQ(docs.size(), 2u);
  YAML::Node deployment = docs[0];
  ASSERT_EQ(deployment["kind"].as<std::string>(), "Deployment");
  YAML::Node pod = deployment["spec"]["template"]["spec"];
  YAML::Node c = pod["containers"][0];
  std::string port = flag_value(entrypoint(), "--metrics-port");
  EXPECT_EQ(c["livenessProbe"]["httpGet"]["path"].as<std::string>(), "/healthz");
  EXPECT_EQ(c["livenessProbe"]["httpGet"]["port"].as<std::string>(), port);
  EXPECT_EQ(c["readinessProbe"]["httpGet"]["path"].as<std::string>(), "/readyz");
  EXPECT_EQ(c["readinessProbe"]["httpGet"]["port"].as<std::string>(), port);
  bool exposed = false;
  for (const auto& p : c["ports"]) exposed |= p["containerPort"].as<std::string>() == port;
  EXPECT_TRUE(exposed) << "the metrics port is not a containerPort";
  // `instances: max` counts the CPU limit.
  EXPECT_TRUE(c["resources"]["limits"]["cpu"]) << "no CPU limit for instances: max to count";
  // preStop's sleep, then every instance's kill_timeout, within the grace period.
  YAML::Node pre = c["lifecycle"]["preStop"]["exec"]["command"];
  ASSERT_TRUE(pre && pre.size() == 2 && pre[0].as<std::string>() == "sleep");
  int grace = pod["terminationGracePeriodSeconds"].as<int>();
  EXPECT_GT(grace, pre[1].as<int>() + kill_timeout_s());
  EXPECT_EQ(docs[1]["kind"].as<std::string>(), "Service");
  EXPECT_EQ(docs[1]["spec"]["selector"]["app"].as<std::string>(),
            deployment["spec"]["selector"]["matchLabels"]["app"].as<std::string>());
}

TEST(Deploy, NomadChecksAndKillTimeoutMatchHerd) {
  std::string hcl = read("nomad.hcl");
  EXPECT_NE(hcl.find("driver = \"exec\""), std::string::npos);
  EXPECT_NE(hcl.find("path     = \"/healthz\""), std::string::npos);
  EXPECT_NE(hcl.find("path     = \"/readyz\""), std::string::npos);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(hcl, m, std::regex("port \"metrics\" \\{\\s*static = (\\d+)")));
  std::string port = m[1];
  EXPECT_NE(hcl.find("\"--metrics-port\", \"" + port + "\""), std::string::npos);
  EXPECT_NE(hcl.find("\"--metrics-addr\", \"0.0.0.0\""), std::string::npos);
  ASSERT_TRUE(std::regex_search(hcl, m, std::regex("kill_timeout = \"(\\d+)s\"")));
  EXPECT_GT(std::stoi(m[1]), kill_timeout_s());
  // Braces balance: a cut-off edit would not.
  EXPECT_EQ(std::count(hcl.begin(), hcl.end(), '{'), std::count(hcl.begin(), hcl.end(), '}'));
}

TEST(Deploy, SystemdUnitIsATypeNotifyRuntime) {
  std::string unit = read("herd-runtime.service");
  EXPECT_NE(unit.find("\nType=notify\n"), std::string::npos);
  EXPECT_NE(unit.find("\nExecStart=/usr/local/bin/herd runtime "), std::string::npos);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(unit, m, std::regex("\nTimeoutStopSec=(\\d+)\n")));
  EXPECT_GT(std::stoi(m[1]), kill_timeout_s());

  const char* analyze = "/usr/bin/systemd-analyze";
  if (::access(analyze, X_OK) != 0) GTEST_SKIP() << "systemd-analyze is not installed";
  // verify checks that ExecStart's program exists: the herd built beside this test stands in.
  char dir[] = "/tmp/herd-deploy-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  std::string copy = std::string(dir) + "/herd-runtime.service";
  std::string herd = std::string(HERD_BINARY_DIR) + "/bin/herd";
  {
    std::ofstream out(copy);
    out << std::regex_replace(unit, std::regex("/usr/local/bin/herd"), herd);
  }
  herd::test::ChildSpec spec;
  spec.argv = {analyze, "verify", copy};
  auto r = herd::test::run(spec, std::chrono::seconds(60));
  ::unlink(copy.c_str());
  ::rmdir(dir);
  EXPECT_EQ(r.code(), 0) << r;
  EXPECT_EQ(r.err, "") << r;
}

}  // namespace
