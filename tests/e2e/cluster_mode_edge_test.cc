// Cluster mode for unmodified programs, at its edges (docs/cluster-mode.md): ports held by
// someone else, Unix paths the program unlinks, stop and restart, --no-inject, a program
// that never listens, a statically linked one.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "e2e/cluster_mode_fixture.h"

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;

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

TEST_F(ClusterModeTest, SecondAppOnAHeldPortGetsAddressInUseInItsErrorLog) {
  if (!on_path("node")) GTEST_SKIP() << "node is not installed";
  int port = free_port();
  std::string app = node_app("app.js", node_http_server(port));
  auto first = start_online({"start", app, "-n", "first", "-i", "2"}, "first", 2);
  herd({"start", app, "-n", "second", "-i", "2", "--max-restarts", "1"});
  std::string log = path("logs/second-error-" + std::to_string(first.size()) + ".log");
  EXPECT_TRUE(wait_for([&] { return read_file(log).find("EADDRINUSE") != std::string::npos; }))
      << read_file(log);
  EXPECT_EQ(answering_pids(port, pids_of(first)), pids_of(first));
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
  EXPECT_TRUE(wait_for(
      [&] {
        seen.insert(connect_unix());
        seen.erase("");
        return seen == pids_of(list);
      },
      kWaitTimeout, 1ms))
      << "answered: " << ::testing::PrintToString(seen);
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
  EXPECT_EQ(answering_pids(port, pids_of(list)), pids_of(list));
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

TEST_F(ClusterModeTest, AnInstanceThatNeverListensIsOnlineAfterListenTimeoutWithAWarning) {
  if (!on_path("node")) GTEST_SKIP() << "node is not installed";
  std::string app = node_app("worker.js", "setInterval(() => {}, 1000);\n");
  CommandResult r = herd({"start", app, "-i", "2", "--listen-timeout", "300"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("did not listen within listen_timeout (300 ms)")) << r;
  for (const auto& p : instances(jlist(), "worker")) {
    EXPECT_EQ(p["pm2_env"]["status"], "online") << p.dump();
    EXPECT_EQ(p["pm2_env"]["listen_timed_out"], true) << p.dump();
    EXPECT_EQ(p["pm2_env"]["exec_mode"], "cluster_mode") << p.dump();
  }
  // One that listens is online when it does, with no such note.
  int port = free_port();
  CommandResult ok = herd({"start", node_app("app.js", node_http_server(port)), "-i", "2"});
  ASSERT_EQ(ok.exit_code, 0) << ok;
  EXPECT_THAT(ok.err, ::testing::Not(HasSubstr("did not listen"))) << ok;
  for (const auto& p : instances(jlist(), "app")) {
    EXPECT_EQ(p["pm2_env"]["status"], "online") << p.dump();
    EXPECT_EQ(p["pm2_env"]["listen_timed_out"], false) << p.dump();
  }
}

}  // namespace
}  // namespace herd::e2e
