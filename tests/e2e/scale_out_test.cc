// Beyond one machine (docs/scale-out.md): two hosts, each a network namespace this test makes
// (a veth pair to the root namespace, addresses of its own), each running herd with a 2-instance
// cluster of hello; a real nginx in the root namespace with both as upstreams; POSTs through
// nginx without pause (nginx never retries a POST, so a request a host dropped is a failure).
//   1. `herd reload` on host 1 under that load: no request fails;
//   2. host 1 taken out of nginx's upstream, then its herd stopped with SIGTERM as an
//      orchestrator would: no request fails.
// Needs root (network namespaces), iproute2 and nginx; skips, saying which, without them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "e2e/herd_fixture.h"
#include "e2e/traffic.h"
#include "support/child.h"

namespace herd::e2e {
namespace {

constexpr const char* kIp = "/usr/sbin/ip";
constexpr const char* kNginx = "/usr/sbin/nginx";

// A free TCP port on 127.0.0.1 (bound and released: nginx takes it a moment later).
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

test::RunResult run(const std::vector<std::string>& argv) {
  test::ChildSpec spec;
  spec.argv = argv;
  return test::run(spec, 30s);
}

class ScaleOutTest : public HerdTest {
 protected:
  struct Host {
    std::string ns;    // network namespace
    std::string veth;  // its root-namespace end
    std::string addr;  // inside the namespace
    std::string gw;    // the root namespace's end
    std::string home;  // HERD_HOME
  };

  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "network namespaces need root";
    if (::access(kIp, X_OK) != 0) GTEST_SKIP() << kIp << " (iproute2) is not installed";
    if (::access(kNginx, X_OK) != 0) GTEST_SKIP() << kNginx << " is not installed";
    HerdTest::SetUp();
    int tag = static_cast<int>(::getpid() % 100000);
    int net = 16 + static_cast<int>(::getpid() % 100) * 2;  // 10.213.<net>.0/24, <net+1>
    for (int i = 0; i < 2; ++i) {
      Host h;
      h.ns = "herd-e2e-" + std::to_string(tag) + "-" + std::to_string(i + 1);
      h.veth = "hv" + std::to_string(tag) + "x" + std::to_string(i + 1);
      h.gw = "10.213." + std::to_string(net + i) + ".1";
      h.addr = "10.213." + std::to_string(net + i) + ".2";
      h.home = i == 0 ? home_ : path("host2");
      hosts_.push_back(h);
      made_.push_back(h.ns);
      std::string inner = h.veth + "n";
      for (const std::vector<std::string>& cmd : std::vector<std::vector<std::string>>{
               {kIp, "netns", "add", h.ns},
               {kIp, "link", "add", h.veth, "type", "veth", "peer", "name", inner},
               {kIp, "link", "set", inner, "netns", h.ns},
               {kIp, "addr", "add", h.gw + "/24", "dev", h.veth},
               {kIp, "link", "set", h.veth, "up"},
               {kIp, "netns", "exec", h.ns, kIp, "addr", "add", h.addr + "/24", "dev", inner},
               {kIp, "netns", "exec", h.ns, kIp, "link", "set", inner, "up"},
               {kIp, "netns", "exec", h.ns, kIp, "link", "set", "lo", "up"}}) {
        auto r = run(cmd);
        ASSERT_EQ(r.code(), 0) << cmd[1] << " " << cmd[2] << ": " << r;
      }
    }
    ::mkdir(hosts_[1].home.c_str(), 0700);
  }

  void TearDown() override {
    if (nginx_) {
      nginx_->signal(SIGQUIT);
      if (!nginx_->wait_exit(10s)) nginx_->kill_and_reap();
    }
    if (hosts_.size() == 2) herd({"kill"}, {{"HERD_HOME", hosts_[1].home}});
    if (!home_.empty()) HerdTest::TearDown();
    for (const std::string& ns : made_) run({kIp, "netns", "del", ns});  // takes its veth along
  }

  // Starts herd on `h` (its daemon in the host's namespace: the first command starts it there)
  // with hello, 2 instances, on the host's address, port 8080.
  void start_host(const Host& h) {
    std::string herd_bin = herd_bin_;
    herd_bin_ = write_script("herd-in-" + h.ns, std::string("exec ") + kIp + " netns exec " + h.ns +
                                                    " " + herd_bin + " \"$@\"\n");
    std::string hello = herd_bin.substr(0, herd_bin.rfind('/')) + "/hello";
    CommandResult r = herd({"start", hello, "-n", "web", "-i", "2", "--listen", h.addr + ":8080",
                            "--kill-timeout", "5000", "--", "--port", "8080"},
                           {{"HERD_HOME", h.home}});
    herd_bin_ = herd_bin;
    ASSERT_EQ(r.exit_code, 0) << r;
  }

  std::vector<int> pids(const Host& h) {
    CommandResult r = herd({"jlist"}, {{"HERD_HOME", h.home}});
    std::vector<int> out;
    Json list = Json::parse(r.out, nullptr, false);
    if (!list.is_array()) return out;
    for (const Json& p : list) {
      if (p["pm2_env"]["status"] == "online") out.push_back(p["pid"].get<int>());
    }
    return out;
  }

  // nginx.conf with `upstreams` as the app's servers, listening on 127.0.0.1:port_.
  void write_nginx_conf(const std::vector<const Host*>& upstreams) {
    std::string dir = path("nginx");
    ::mkdir(dir.c_str(), 0700);
    std::string servers;
    for (const Host* h : upstreams) servers += "    server " + h->addr + ":8080;\n";
    write_file(dir + "/nginx.conf",
               "user root;\nworker_processes 1;\ndaemon off;\npid " + dir + "/nginx.pid;\n" +
                   "error_log " + dir + "/error.log notice;\n" +
                   "events { worker_connections 1024; }\n"
                   "http {\n  access_log off;\n  client_body_temp_path " +
                   dir + "/body;\n" + "  proxy_temp_path " + dir + "/proxy;\n  fastcgi_temp_path " +
                   dir + "/fcgi;\n  uwsgi_temp_path " + dir + "/uwsgi;\n  scgi_temp_path " + dir +
                   "/scgi;\n  upstream app {\n" + servers + "    keepalive 16;\n  }\n" +
                   "  server {\n    listen 127.0.0.1:" + std::to_string(port_) + ";\n" +
                   "    location / {\n      proxy_pass http://app;\n"
                   "      proxy_http_version 1.1;\n      proxy_set_header Connection \"\";\n"
                   "    }\n  }\n}\n");
  }

  std::vector<Host> hosts_;
  std::vector<std::string> made_;
  std::unique_ptr<Process> nginx_;
  int port_ = 0;
};

TEST_F(ScaleOutTest, ReloadAndStopOfOneHostBehindNginxFailNoPost) {
  for (const Host& h : hosts_) ASSERT_NO_FATAL_FAILURE(start_host(h));
  for (const Host& h : hosts_) {
    ASSERT_TRUE(wait_for([&] { return pids(h).size() == 2; })) << h.ns << " not online";
  }
  port_ = free_port();
  ASSERT_GT(port_, 0);
  write_nginx_conf({&hosts_[0], &hosts_[1]});
  std::string dir = path("nginx");
  nginx_ = std::make_unique<Process>();
  ASSERT_TRUE(
      nginx_->spawn({kNginx, "-p", dir, "-c", dir + "/nginx.conf"}, {"PATH=/usr/bin:/bin"}));
  ASSERT_TRUE(wait_for([&] {
    std::string error;
    return contains(
        exchange(port_, "GET / HTTP/1.1\r\nHost: e2e\r\nConnection: close\r\n\r\n", 2s, &error),
        "Hello World!");
  })) << read_file(dir + "/error.log");

  // 1. A reload of host 1 under POST load.
  std::vector<int> before = pids(hosts_[0]);
  {
    Traffic load(port_, "Hello World!", Traffic::Mode::kPost);
    ASSERT_TRUE(load.wait_more(200)) << load.failures();
    CommandResult r = herd({"reload", "web"});
    ASSERT_EQ(r.exit_code, 0) << r;
    ASSERT_TRUE(load.wait_more(200)) << load.failures();
    load.stop();
    EXPECT_EQ(load.failed(), 0) << load.failures();
    EXPECT_GT(load.ok(), 400);
  }
  std::vector<int> after = pids(hosts_[0]);
  ASSERT_EQ(after.size(), 2u);
  for (int p : after) EXPECT_THAT(before, ::testing::Not(::testing::Contains(p))) << "not reloaded";

  // 2. Host 1 out of the upstream (nginx reloads its configuration; the old worker ends once
  // its requests are done), then its herd stopped with SIGTERM, all under load.
  Traffic load(port_, "Hello World!", Traffic::Mode::kPost);
  ASSERT_TRUE(load.wait_more(100)) << load.failures();
  std::vector<pid_t> old_workers;
  old_workers = child_pids(nginx_->pid());
  write_nginx_conf({&hosts_[1]});
  nginx_->signal(SIGHUP);
  ASSERT_TRUE(wait_for(
      [&] {
        for (pid_t p : old_workers) {
          auto st = proc_stat(p);
          if (st && st->state != 'Z' && st->ppid == nginx_->pid()) return false;
        }
        return true;
      },
      20s))
      << "nginx's old worker did not end";
  ASSERT_TRUE(load.wait_more(100)) << load.failures();
  pid_t keeper = std::atoi(read_file(path("keeper.pid")).c_str());
  ASSERT_GT(keeper, 0);
  auto keeper_id = proc_id(keeper);
  ASSERT_TRUE(keeper_id);
  ::kill(keeper, SIGTERM);
  ASSERT_TRUE(wait_for([&] { return dead(*keeper_id); }, 20s)) << "host 1's herd did not stop";
  ASSERT_TRUE(load.wait_more(100)) << load.failures();
  load.stop();
  EXPECT_EQ(load.failed(), 0) << load.failures();
  EXPECT_EQ(pids(hosts_[1]).size(), 2u) << "host 2 stopped serving";
}

}  // namespace
}  // namespace herd::e2e
