// Cluster mode for programs nobody changed (docs/cluster-mode.md), through the real CLI: a plain
// Node http or net server, python3 -m http.server and a small C server, each calling listen on
// a fixed port itself, run with `herd start ... -i 2`. Every instance serves from the one socket
// herd holds; a killed instance refuses no connection; delete (and stop) frees the port; what
// is not the program's own bind (its children, port 0, a port someone else holds) is left as it
// would be without herd.
#include <arpa/inet.h>
#include <dirent.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "e2e/herd_fixture.h"
#include "e2e/traffic.h"

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;

bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (!dir.empty() && ::access((dir + "/" + program).c_str(), X_OK) == 0) return true;
  }
  return false;
}

// A port nobody listens on, on 0.0.0.0 and [::] (Node binds [::] by default): the kernel's
// choice for a dual-stack [::]:0.
int free_port() {
  int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int off = 0;
  ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  socklen_t len = sizeof(a);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) < 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) < 0) {
    ADD_FAILURE() << "no free port: " << std::strerror(errno);
  }
  ::close(fd);
  return ntohs(a.sin6_port);
}

// Whether a server can bind and listen on 0.0.0.0:port right now (with SO_REUSEADDR, as servers
// do: the connections the old server closed may still be in TIME_WAIT).
bool port_is_free(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 && ::listen(fd, 1) == 0;
  ::close(fd);
  return ok;
}

// The pids of the instances of `name`, as strings (what the test servers answer with).
std::set<std::string> pids_of(const std::vector<Json>& list) {
  std::set<std::string> out;
  for (const auto& p : list) out.insert(std::to_string(p["pid"].get<int>()));
  return out;
}

// The bodies of HTTP answers on fresh connections until every pid of `want` was seen, or `tries`
// connections were made; returns the pids seen.
std::set<std::string> answering_pids(int port, const std::set<std::string>& want, int tries) {
  std::set<std::string> seen;
  auto deadline = std::chrono::steady_clock::now() + kWaitTimeout;
  for (int i = 0; i < tries && seen != want && std::chrono::steady_clock::now() < deadline; ++i) {
    std::string error;
    std::string answer =
        exchange(port, "GET / HTTP/1.1\r\nHost: e2e\r\nConnection: close\r\n\r\n", 5s, &error);
    auto body = answer.find("\r\n\r\n");
    std::string text = body == std::string::npos ? answer : answer.substr(body + 4);
    if (error.empty() && !text.empty()) seen.insert(text.substr(0, text.find_first_of("\r\n ")));
  }
  return seen;
}

// The inodes of the sockets listening on TCP `port` (any address, IPv4 or IPv6).
std::set<std::string> listening_inodes(int port) {
  std::set<std::string> out;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string slot, local, remote, state, queues, tr, retr, uid, timeout, inode;
      f >> slot >> local >> remote >> state >> queues >> tr >> retr >> uid >> timeout >> inode;
      if (state != "0A") continue;  // LISTEN
      int p = std::stoi(local.substr(local.find(':') + 1), nullptr, 16);
      if (p == port) out.insert(inode);
    }
  }
  return out;
}

// Whether `pid` or one of its children holds a descriptor for socket `inode`.
bool tree_holds_socket(pid_t pid, const std::string& inode) {
  std::vector<pid_t> tree{pid};
  if (DIR* d = ::opendir("/proc")) {
    while (dirent* e = ::readdir(d)) {
      pid_t p = std::atoi(e->d_name);
      if (p > 0) {
        if (auto st = proc_stat(p); st && st->ppid == pid) tree.push_back(p);
      }
    }
    ::closedir(d);
  }
  std::string want = "socket:[" + inode + "]";
  for (pid_t p : tree) {
    std::string dir = "/proc/" + std::to_string(p) + "/fd";
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) continue;
    bool found = false;
    while (dirent* e = ::readdir(d)) {
      char target[256];
      ssize_t n = ::readlink((dir + "/" + e->d_name).c_str(), target, sizeof(target) - 1);
      if (n > 0 && std::string(target, static_cast<std::size_t>(n)) == want) found = true;
    }
    ::closedir(d);
    if (found) return true;
  }
  return false;
}

class ClusterModeTest : public HerdTest {
 protected:
  std::string bin(const std::string& name) const {
    return herd_bin_.substr(0, herd_bin_.rfind('/')) + "/" + name;
  }

  // Writes a Node program to $HERD_HOME/<file>.
  std::string node_app(const std::string& file, const std::string& source) {
    write_file(path(file), source);
    return path(file);
  }

  // `herd start <args>` that must succeed, then `n` instances of `name` online; their jlist.
  std::vector<Json> start_online(const std::vector<std::string>& args, const std::string& name,
                                 std::size_t n, const EnvVars& env = {}) {
    CommandResult r = herd(args, env);
    EXPECT_EQ(r.exit_code, 0) << r;
    Json list;
    EXPECT_TRUE(wait_status(name, "online", n, kWaitTimeout, &list)) << list.dump(1);
    return instances(list, name);
  }

  // Kills one instance with SIGKILL while requests flow: not one connection may be refused,
  // and a new process takes the instance's place.
  void kill_one_under_traffic(const std::string& name, int port, const std::string& body) {
    auto before = instances(jlist(), name);
    ASSERT_FALSE(before.empty());
    int victim = before[0]["pid"].get<int>();
    Traffic traffic(port, body);
    ASSERT_TRUE(traffic.wait_more(20)) << traffic.failures();
    ASSERT_EQ(::kill(victim, SIGKILL), 0);
    ASSERT_TRUE(wait_jlist([&](const Json& l) {
      auto now = instances(l, name);
      return !now.empty() && now[0]["pid"].get<int>() != victim &&
             now[0]["pm2_env"]["status"] == "online";
    }));
    ASSERT_TRUE(traffic.wait_more(20)) << traffic.failures();
    traffic.stop();
    EXPECT_EQ(traffic.refused(), 0) << traffic.failures();
  }

  // `herd delete <name>`: then the port is free at once.
  void delete_frees(const std::string& name, int port) {
    CommandResult r = herd({"delete", name});
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_TRUE(port_is_free(port)) << "port " << port << " is still held after delete";
  }
};

std::string node_http_server(int port) {
  return "require('http').createServer((q, s) => s.end(String(process.pid)))"
         ".listen(" +
         std::to_string(port) + ");\n";
}

TEST_F(ClusterModeTest, NodeHttpServerOnAFixedPortServesFromEveryInstance) {
  if (!on_path("node")) GTEST_SKIP() << "node is not installed";
  int port = free_port();
  std::string app = node_app("app.js", node_http_server(port));
  auto list = start_online({"start", app, "-i", "2"}, "app", 2);
  ASSERT_EQ(list.size(), 2u);
  for (const auto& p : list) {
    EXPECT_EQ(p["pm2_env"]["exec_mode"], "cluster_mode");
    EXPECT_EQ(p["pm2_env"]["listen"], Json::array({"[::]:" + std::to_string(port)}));
  }
  CommandResult ls = herd({"ls"});
  EXPECT_THAT(ls.out, HasSubstr("cluster"));
  EXPECT_EQ(answering_pids(port, pids_of(list), 400), pids_of(list));
  // One socket for the port, held by herd and shared by both.
  auto inodes = listening_inodes(port);
  ASSERT_EQ(inodes.size(), 1u);
  EXPECT_TRUE(tree_holds_socket(daemon_pid(), *inodes.begin()));

  kill_one_under_traffic("app", port, "");
  delete_frees("app", port);
}

TEST_F(ClusterModeTest, NodeNetServerServesFromEveryInstance) {
  if (!on_path("node")) GTEST_SKIP() << "node is not installed";
  int port = free_port();
  std::string app = node_app("tcp.js",
                             "require('net').createServer((c) => c.end(String(process.pid)))"
                             ".listen(" +
                                 std::to_string(port) + ");\n");
  auto list = start_online({"start", app, "-i", "2"}, "tcp", 2);
  std::set<std::string> seen;
  for (int i = 0; i < 400 && seen != pids_of(list); ++i) {
    std::string error;
    std::string pid = exchange(port, "", 5s, &error);
    if (error.empty()) seen.insert(pid);
  }
  EXPECT_EQ(seen, pids_of(list));
  delete_frees("tcp", port);
}

TEST_F(ClusterModeTest, PythonHttpServerSharesOneSocket) {
  if (!on_path("python3")) GTEST_SKIP() << "python3 is not installed";
  int port = free_port();
  write_file(path("index.html"), "hello from python\n");
  auto list = start_online({"start", "python3 -m http.server " + std::to_string(port), "-n", "py",
                            "-i", "2", "--cwd", home_},
                           "py", 2);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["pm2_env"]["exec_mode"], "cluster_mode");
  auto inodes = listening_inodes(port);
  ASSERT_EQ(inodes.size(), 1u) << "each instance bound a socket of its own";
  for (const auto& p : list) {
    EXPECT_TRUE(tree_holds_socket(p["pid"].get<int>(), *inodes.begin())) << p.dump();
  }
  std::string error;
  std::string answer = exchange(
      port, "GET /index.html HTTP/1.1\r\nHost: e2e\r\nConnection: close\r\n\r\n", 5s, &error);
  EXPECT_EQ(error, "");
  EXPECT_THAT(answer, HasSubstr("hello from python"));
  kill_one_under_traffic("py", port, "hello from python");
  // Each instance served some of those requests: http.server logs each one on its stderr.
  for (const auto& p : instances(jlist(), "py")) {
    std::string log = path("logs/py-error-" + std::to_string(p["pm_id"].get<int>()) + ".log");
    Traffic more(port, "hello from python");
    EXPECT_TRUE(wait_for([&] { return read_file(log).find("\"GET / ") != std::string::npos; }))
        << log << ":\n"
        << read_file(log);
  }
  delete_frees("py", port);
}

TEST_F(ClusterModeTest, PlainCServerWithBlockingAcceptServesFromEveryInstance) {
  int port = free_port();
  auto list = start_online(
      {"start", bin("plain_server"), "-n", "c", "-i", "2", "--", std::to_string(port)}, "c", 2);
  EXPECT_EQ(answering_pids(port, pids_of(list), 400), pids_of(list));
  kill_one_under_traffic("c", port, "");
  delete_frees("c", port);
}

TEST_F(ClusterModeTest, StaticBinaryIsNamedAtStartWithTheWayOut) {
  int port = free_port();
  CommandResult r = herd({"start", bin("plain_server_static"), "-n", "st", "-i", "2",
                          "--max-restarts", "1", "--", std::to_string(port)});
  EXPECT_THAT(r.err, HasSubstr("is statically linked"));
  EXPECT_THAT(r.err, HasSubstr("--listen"));
  EXPECT_THAT(r.err, HasSubstr("LISTEN_FDS"));
  // A dynamically linked program gets no such warning.
  CommandResult d = herd(
      {"start", bin("plain_server"), "-n", "dyn", "-i", "2", "--", std::to_string(free_port())});
  EXPECT_EQ(d.exit_code, 0) << d;
  EXPECT_THAT(d.err, ::testing::Not(HasSubstr("statically linked")));
}

TEST_F(ClusterModeTest, HelloUnderListenServesWithAndWithoutPort) {
  std::string hello = bin("hello");
  if (!file_exists(hello)) GTEST_SKIP() << hello << " is not built";
  int with = free_port();
  int without = free_port();
  std::string at_with = "127.0.0.1:" + std::to_string(with);
  std::string at_without = "127.0.0.1:" + std::to_string(without);
  start_online({"start", hello, "-n", "a", "-i", "2", "--listen", at_with}, "a", 2,
               {{"PORT", std::to_string(with)}});
  start_online({"start", hello, "-n", "b", "-i", "2", "--listen", at_without}, "b", 2,
               {{"PORT", ""}});
  for (int port : {with, without}) {
    std::string error;
    std::string answer = exchange(port, "GET / HTTP/1.0\r\n\r\n", 5s, &error);
    EXPECT_EQ(error, "") << port;
    EXPECT_THAT(answer, HasSubstr("Hello World!")) << port;
  }
  Json list = jlist();
  for (const auto& p : list) {
    EXPECT_EQ(p["pm2_env"]["restart_time"], 0) << p.dump();  // no crash loop
  }
}

TEST_F(ClusterModeTest, ChildrenPortZeroAndClientSocketsAreLeftAlone) {
  if (!on_path("node")) GTEST_SKIP() << "node is not installed";
  int port = free_port();
  int child_port = free_port();
  ASSERT_NE(port, child_port);
  std::string app =
      node_app("parent.js",
               "const http = require('http'), net = require('net');\n"
               "const { spawn } = require('child_process');\n"
               "http.createServer((q, s) => s.end(String(process.pid))).listen(" +
                   std::to_string(port) +
                   ", () => {\n"
                   // A client socket of the app: answered by an instance, not touched by herd.
                   "  http.get('http://127.0.0.1:" +
                   std::to_string(port) +
                   "/', (r) => r.resume());\n"
                   "});\n"
                   "net.createServer().listen(0);\n"  // port 0: the program's own
                   "if (process.env.NODE_APP_INSTANCE === '0') {\n"
                   "  spawn(process.execPath, ['-e', \"require('net').createServer((c) => "
                   "c.end('child ' + process.pid)).listen(" +
                   std::to_string(child_port) + ")\"], { stdio: 'inherit' });\n}\n");
  auto list = start_online({"start", app, "-i", "2"}, "parent", 2);
  ASSERT_EQ(list.size(), 2u);
  // The child binds its port itself: it answers, and herd holds only the app's own port.
  std::string answer;
  ASSERT_TRUE(wait_for([&] {
    std::string error;
    answer = exchange(child_port, "", 2s, &error);
    return error.empty() && answer.rfind("child ", 0) == 0;
  })) << answer;
  EXPECT_EQ(pids_of(list).count(answer.substr(6)), 0u);
  for (const auto& p : instances(jlist(), "parent")) {
    EXPECT_EQ(p["pm2_env"]["listen"], Json::array({"[::]:" + std::to_string(port)})) << p.dump();
  }
  auto child_inodes = listening_inodes(child_port);
  ASSERT_EQ(child_inodes.size(), 1u);
  EXPECT_FALSE(tree_holds_socket(daemon_pid(), *child_inodes.begin()));
  delete_frees("parent", port);
}

TEST_F(ClusterModeTest, SecondAppOnAHeldPortGetsAddressInUseInItsErrorLog) {
  if (!on_path("node")) GTEST_SKIP() << "node is not installed";
  int port = free_port();
  std::string app = node_app("app.js", node_http_server(port));
  auto first = start_online({"start", app, "-n", "first", "-i", "2"}, "first", 2);
  herd({"start", app, "-n", "second", "-i", "2", "--max-restarts", "1"});
  std::string log = path("logs/second-error-" + std::to_string(first.size()) + ".log");
  EXPECT_TRUE(wait_for([&] { return read_file(log).find("EADDRINUSE") != std::string::npos; }))
      << read_file(log);
  EXPECT_EQ(answering_pids(port, pids_of(first), 400), pids_of(first));
}

TEST_F(ClusterModeTest, PortHeldByAnotherProcessGivesAddressInUse) {
  if (!on_path("node")) GTEST_SKIP() << "node is not installed";
  int port = free_port();
  int holder = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(holder, 0);
  int off = 0;
  ::setsockopt(holder, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(static_cast<std::uint16_t>(port));
  ASSERT_EQ(::bind(holder, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(::listen(holder, 4), 0);
  std::string app = node_app("app.js", node_http_server(port));
  herd({"start", app, "-i", "2", "--max-restarts", "1"});
  EXPECT_TRUE(wait_for([&] {
    return read_file(path("logs/app-error-0.log")).find("EADDRINUSE") != std::string::npos;
  })) << read_file(path("logs/app-error-0.log"));
  for (const auto& p : instances(jlist(), "app")) {
    EXPECT_EQ(p["pm2_env"]["listen"], Json::array()) << p.dump();
  }
  ::close(holder);
}

TEST_F(ClusterModeTest, UnixSocketPathSurvivesTheProgramsOwnUnlink) {
  if (!on_path("node")) GTEST_SKIP() << "node is not installed";
  std::string sock = path("app.sock");
  std::string app =
      node_app("unix.js", "const fs = require('fs'), p = '" + sock +
                              "';\n"
                              "try { fs.unlinkSync(p); } catch (e) {}\n"
                              "require('net').createServer((c) => c.end(String(process.pid)))"
                              ".listen(p);\n");
  auto list = start_online({"start", app, "-i", "2"}, "unix", 2);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["pm2_env"]["listen"], Json::array({"unix:" + sock}));
  auto connect_unix = [&]() -> std::string {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un u{};
    u.sun_family = AF_UNIX;
    std::strncpy(u.sun_path, sock.c_str(), sizeof(u.sun_path) - 1);
    std::string out;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&u), sizeof(u)) == 0) {
      char buf[64];
      ssize_t n;
      while ((n = ::read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
  };
  std::set<std::string> seen;
  for (int i = 0; i < 400 && seen != pids_of(list); ++i) seen.insert(connect_unix());
  EXPECT_EQ(seen, pids_of(list));
  // A restarted instance unlinks the path again before it listens: the file herd holds stays.
  CommandResult r = herd({"restart", "unix"});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(wait_status("unix", "online", 2));
  EXPECT_FALSE(connect_unix().empty());
  ASSERT_EQ(herd({"delete", "unix"}).exit_code, 0);
  EXPECT_FALSE(file_exists(sock));
}

TEST_F(ClusterModeTest, StopFreesThePortAndRestartTakesItAgain) {
  if (!on_path("node")) GTEST_SKIP() << "node is not installed";
  int port = free_port();
  std::string app = node_app("app.js", node_http_server(port));
  start_online({"start", app, "-i", "2"}, "app", 2);
  ASSERT_EQ(herd({"stop", "app"}).exit_code, 0);
  EXPECT_TRUE(port_is_free(port));
  auto list = start_online({"restart", "app"}, "app", 2);
  EXPECT_EQ(answering_pids(port, pids_of(list), 400), pids_of(list));
}

TEST_F(ClusterModeTest, NoInjectLeavesTheProgramToBindAlone) {
  if (!on_path("node")) GTEST_SKIP() << "node is not installed";
  int port = free_port();
  std::string app = node_app("app.js", node_http_server(port));
  herd({"start", app, "-i", "2", "--no-inject", "--max-restarts", "1"});
  Json list;
  ASSERT_TRUE(wait_jlist(
      [](const Json& l) {
        auto all = instances(l, "app");
        return all.size() == 2 && std::any_of(all.begin(), all.end(), [](const Json& p) {
                 return p["pm2_env"]["status"] == "errored";
               });
      },
      kWaitTimeout, &list))
      << list.dump(1);
  EXPECT_EQ(instances(list, "app")[0]["pm2_env"]["inject"], false);
}

TEST_F(ClusterModeTest, ReloadUnderKeepAliveTrafficLosesNothingForAnUnmodifiedNodeServer) {
  if (!on_path("node")) GTEST_SKIP() << "node is not installed";
  int port = free_port();
  std::string app = node_app("app.js", node_http_server(port));
  auto before = start_online({"start", app, "-i", "2"}, "app", 2);
  Traffic keep_alive(port, "", Traffic::Mode::kKeepAlive);
  Traffic keep_alive_too(port, "", Traffic::Mode::kKeepAlive);
  Traffic fresh(port, "", Traffic::Mode::kClose);
  ASSERT_TRUE(keep_alive.wait_more(50)) << keep_alive.failures();
  for (int round = 0; round < 2; ++round) {
    CommandResult r = herd({"reload", "app"});
    ASSERT_EQ(r.exit_code, 0) << r;
    ASSERT_TRUE(keep_alive.wait_more(50)) << keep_alive.failures();
  }
  ASSERT_TRUE(fresh.wait_more(20)) << fresh.failures();
  keep_alive.stop();
  keep_alive_too.stop();
  fresh.stop();
  EXPECT_EQ(keep_alive.failed(), 0) << keep_alive.failures();
  EXPECT_EQ(keep_alive_too.failed(), 0) << keep_alive_too.failures();
  EXPECT_EQ(fresh.failed(), 0) << fresh.failures();
  auto after = instances(jlist(), "app");
  ASSERT_EQ(after.size(), 2u);
  for (std::size_t k = 0; k < 2; ++k) {
    EXPECT_NE(after[k]["pid"], before[k]["pid"]);
    EXPECT_EQ(after[k]["reloads"], 2);
  }
  expect_no_zombies();
}

}  // namespace
}  // namespace herd::e2e
