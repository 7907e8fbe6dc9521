// The fixture and helpers of the cluster-mode end-to-end tests (cluster_mode_test.cc,
// cluster_mode_edge_test.cc). Named namespace: gtest needs one fixture class for the suite.
#pragma once

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

inline bool on_path(const std::string& program) {
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
inline int free_port() {
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
inline bool port_is_free(int port) {
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
inline std::set<std::string> pids_of(const std::vector<Json>& list) {
  std::set<std::string> out;
  for (const auto& p : list) out.insert(std::to_string(p["pid"].get<int>()));
  return out;
}

// The bodies of HTTP answers on fresh connections until every pid of `want` was seen, or for
// kWaitTimeout; returns the pids seen. Not a number of tries: on a loaded machine the kernel may
// hand hundreds of connections in a row to the instance that happens to be running.
inline std::set<std::string> answering_pids(int port, const std::set<std::string>& want) {
  std::set<std::string> seen;
  auto deadline = std::chrono::steady_clock::now() + kWaitTimeout;
  while (seen != want && std::chrono::steady_clock::now() < deadline) {
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
inline std::set<std::string> listening_inodes(int port) {
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
inline bool tree_holds_socket(pid_t pid, const std::string& inode) {
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

inline std::string node_http_server(int port) {
  return "require('http').createServer((q, s) => s.end(String(process.pid)))"
         ".listen(" +
         std::to_string(port) + ");\n";
}

}  // namespace herd::e2e
