// Cluster mode for programs nobody changed (docs/cluster-mode.md), through the real CLI: a plain
// Node http or net server, python3 -m http.server and a small C server, each calling listen on
// a fixed port itself, run with `herd start ... -i 2`. Every instance serves from the one socket
// herd holds; a killed instance refuses no connection; delete (and stop) frees the port; what
// is not the program's own bind (its children, port 0, a port someone else holds) is left as it
// would be without herd.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <string>

#include "e2e/cluster_mode_fixture.h"

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;

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
  EXPECT_EQ(answering_pids(port, pids_of(list)), pids_of(list));
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
  EXPECT_TRUE(wait_for(
      [&] {
        std::string error;
        std::string pid = exchange(port, "", 5s, &error);
        if (error.empty() && !pid.empty()) seen.insert(pid);
        return seen == pids_of(list);
      },
      kWaitTimeout, 1ms))
      << "answered: " << ::testing::PrintToString(seen);
  delete_frees("tcp", port);
}

// The instances of `list` (processes named `comm`) hold one listening socket on `port` between
// them, themselves or through their children, and index.html is served on it.
void expect_one_socket_serving_python(int port, const std::vector<Json>& list,
                                      const std::string& comm) {
  auto inodes = listening_inodes(port);
  ASSERT_EQ(inodes.size(), 1u) << "each instance bound a socket of its own";
  for (const auto& p : list) {
    std::string pid = std::to_string(p["pid"].get<int>());
    EXPECT_EQ(read_file("/proc/" + pid + "/comm"), comm + "\n") << p.dump();
    EXPECT_TRUE(tree_holds_socket(p["pid"].get<int>(), *inodes.begin())) << p.dump();
  }
  std::string error;
  std::string answer = exchange(
      port, "GET /index.html HTTP/1.1\r\nHost: e2e\r\nConnection: close\r\n\r\n", 5s, &error);
  EXPECT_EQ(error, "");
  EXPECT_THAT(answer, HasSubstr("hello from python"));
}

// A command line the shell does not exec (a list): the shell stays the instance's process and
// the program it starts is the one herd's bind library serves.
TEST_F(ClusterModeTest, AProgramStartedByItsShellSharesTheOneSocket) {
  if (!on_path("python3")) GTEST_SKIP() << "python3 is not installed";
  int port = free_port();
  write_file(path("index.html"), "hello from python\n");
  auto list =
      start_online({"start", "cd " + home_ + " && python3 -m http.server " + std::to_string(port),
                    "-n", "py", "-i", "2"},
                   "py", 2);
  ASSERT_EQ(list.size(), 2u);
  expect_one_socket_serving_python(port, list, "sh");
  delete_frees("py", port);
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
  expect_one_socket_serving_python(port, list, "python3");
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
  EXPECT_EQ(answering_pids(port, pids_of(list)), pids_of(list));
  kill_one_under_traffic("c", port, "");
  delete_frees("c", port);
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
