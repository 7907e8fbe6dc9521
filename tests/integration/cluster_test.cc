// The cluster as its users run it: build/bin/hello --workers N (a primary and N worker
// processes) in each scheduling mode, driven over loopback. Every primary a test starts is
// SIGKILLed and reaped by pid when the test ends; its workers die with it (PR_SET_PDEATHSIG).
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "herd/base/fd.h"
#include "support/child_process.h"
#include "support/temp_dir.h"
#include "support/wait.h"

namespace herd {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

std::string hello_path() {
  std::string self = test::self_exe();
  return self.substr(0, self.rfind('/')) + "/hello";
}

// The primary, with stderr collected.
class Primary {
 public:
  static std::unique_ptr<Primary> start(std::vector<std::string> args,
                                        std::vector<std::string> env = {}) {
    test::ChildSpec spec;
    spec.argv = {hello_path()};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.env_remove = {"HERD_", "LISTEN_", "PORT="};
    spec.env = std::move(env);
    spec.out = test::Output::kNull;
    auto p = std::unique_ptr<Primary>(new Primary());
    if (!p->child_.start(spec)) return nullptr;
    return p;
  }

  pid_t pid() const { return child_.pid(); }
  const std::string& err() const { return child_.err(); }

  // Reads stderr until `done()` or the deadline.
  bool until(const std::function<bool()>& done, milliseconds timeout = seconds(20)) {
    return child_.pump_until(done, timeout);
  }
  bool wait_text(const std::string& text, std::size_t from = 0, milliseconds t = seconds(20)) {
    return until([&] { return err().find(text, from) != std::string::npos; }, t);
  }

  // Worker id -> pid of the "listening" lines so far, and the port.
  std::map<int, pid_t> listening(int* port = nullptr) const {
    std::map<int, pid_t> out;
    static const std::regex re(R"(hello: worker (\d+) \(pid (\d+)\) listening on [^:]+:(\d+))");
    for (auto it = std::sregex_iterator(err().begin(), err().end(), re);
         it != std::sregex_iterator(); ++it) {
      out[std::stoi((*it)[1])] = std::stoi((*it)[2]);
      if (port != nullptr) *port = std::stoi((*it)[3]);
    }
    return out;
  }
  bool wait_listening(std::size_t count, milliseconds t = seconds(30)) {
    return until([&] { return listening().size() >= count; }, t);
  }

  // SIGUSR1 -> worker id -> requests served.
  std::map<int, long> stats() {
    std::size_t from = err().size();
    child_.signal(SIGUSR1);
    std::map<int, long> out;
    if (!wait_text("hello: stats end", from, seconds(10))) return out;
    static const std::regex re(R"(hello: stats worker (\d+) pid \d+ requests (\d+))");
    std::string tail = err().substr(from);
    for (auto it = std::sregex_iterator(tail.begin(), tail.end(), re); it != std::sregex_iterator();
         ++it) {
      out[std::stoi((*it)[1])] = std::stol((*it)[2]);
    }
    return out;
  }

  std::optional<int> wait_exit(milliseconds timeout) {
    return child_.wait_exit(timeout) ? child_.code() : std::nullopt;
  }

 private:
  Primary() = default;
  test::Child child_;
};

// One request on a connection of its own; true for a complete "Hello World!" answer.
bool get_ok(int port) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(static_cast<std::uint16_t>(port));
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) < 0) return false;
  const char req[] = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  if (::send(fd.get(), req, sizeof(req) - 1, MSG_NOSIGNAL) != sizeof(req) - 1) return false;
  std::string got;
  auto deadline = Clock::now() + seconds(10);
  while (Clock::now() < deadline) {
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[1024];
    ssize_t n = ::recv(fd.get(), buf, sizeof(buf), 0);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  return got.starts_with("HTTP/1.1 200") && got.ends_with("\r\n\r\nHello World!\n");
}

bool process_gone(pid_t pid) { return ::kill(pid, 0) < 0 && errno == ESRCH; }

// A zombie still has a /proc entry; a reaped process has none.
bool reaped(pid_t pid) { return ::access(("/proc/" + std::to_string(pid)).c_str(), F_OK) != 0; }

int fd_count(pid_t pid) {
  int n = 0;
  DIR* d = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (d == nullptr) return -1;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(d);
  return n;
}

class ClusterHello : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_EQ(::access(hello_path().c_str(), X_OK), 0) << "no hello next to the test";
  }
  std::unique_ptr<Primary> start(int workers = 2, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--host",  "127.0.0.1", "--port",
                                  "0",       "--workers", std::to_string(workers),
                                  "--sched", GetParam()};
    args.insert(args.end(), extra.begin(), extra.end());
    auto p = Primary::start(args);
    EXPECT_TRUE(p);
    if (p) {
      EXPECT_TRUE(p->wait_listening(static_cast<std::size_t>(workers))) << p->err();
      p->listening(&port_);
    }
    return p;
  }
  int port_ = 0;
};

TEST_P(ClusterHello, EveryWorkerComesUpAndServes) {
  auto p = start(3);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->listening().size(), 3u);
  EXPECT_NE(p->err().find("scheduling " + GetParam()), std::string::npos) << p->err();
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(get_ok(port_)) << "request " << i << "\n" << p->err();
  auto stats = p->stats();
  ASSERT_EQ(stats.size(), 3u) << p->err();
  long total = 0;
  for (auto [id, n] : stats) total += n;
  EXPECT_EQ(total, 60);
  // Round robin and reuseport spread sequential connections; shared hands each to whichever
  // worker the kernel wakes, which may be the same one every time on an idle machine.
  if (GetParam() != "shared") {
    for (auto [id, n] : stats) EXPECT_GT(n, 0) << "worker " << id << " served nothing";
  }
}

TEST_P(ClusterHello, KilledWorkerIsReplacedReapedAndServiceContinues) {
  auto p = start(2);
  ASSERT_TRUE(p);
  auto before = p->listening();
  pid_t victim = before.begin()->second;
  ASSERT_EQ(::kill(victim, SIGKILL), 0);
  ASSERT_TRUE(p->wait_listening(3)) << p->err();
  EXPECT_NE(p->err().find("(pid " + std::to_string(victim) + ") exited (signal 9); restarting"),
            std::string::npos)
      << p->err();
  // No zombie: the primary reaped it.
  EXPECT_TRUE(test::wait_for([&] { return reaped(victim); })) << "worker " << victim << " unreaped";
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(get_ok(port_)) << "request " << i << "\n" << p->err();
}

TEST_P(ClusterHello, SigintStopsEveryProcessWithinTheTimeout) {
  auto p = start(2);
  ASSERT_TRUE(p);
  ASSERT_TRUE(get_ok(port_));
  auto workers = p->listening();
  ASSERT_EQ(::kill(p->pid(), SIGINT), 0);
  auto code = p->wait_exit(seconds(15));  // the kill timeout is 10 s
  ASSERT_TRUE(code.has_value()) << p->err();
  EXPECT_EQ(*code, 0) << p->err();
  for (auto [id, pid] : workers) {
    EXPECT_TRUE(test::wait_for([pid = pid] { return process_gone(pid); })) << "worker " << id;
  }
}

// A client makes requests (a connection each) without pause while SIGHUP replaces every worker:
// none fails.
TEST_P(ClusterHello, RollingRestartFailsNoRequest) {
  auto p = start(2);
  ASSERT_TRUE(p);
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::thread client([&] {
    while (!stop) (get_ok(port_) ? ok : failed)++;
  });
  ASSERT_TRUE(test::wait_for([&] { return ok > 20; }));
  std::size_t from = p->err().size();
  ASSERT_EQ(::kill(p->pid(), SIGHUP), 0);
  bool done = p->wait_text("rolling restart done", from, seconds(40));
  int during = ok;
  ASSERT_TRUE(test::wait_for([&] { return ok > during + 20; }));
  stop = true;
  client.join();
  ASSERT_TRUE(done) << p->err();
  EXPECT_EQ(failed, 0) << ok << " requests succeeded\n" << p->err();
  // Workers 3 and 4 replaced 1 and 2.
  auto now = p->listening();
  EXPECT_EQ(now.count(3) + now.count(4), 2u) << p->err();
  auto stats = p->stats();
  EXPECT_EQ(stats.count(1) + stats.count(2), 0u) << p->err();
}

TEST_P(ClusterHello, PrimaryKeepsNoDescriptorOfDeadWorkers) {
  auto p = start(2);
  ASSERT_TRUE(p);
  int fds = fd_count(p->pid());
  ASSERT_GT(fds, 0);
  for (int round = 0; round < 3; ++round) {
    auto workers = p->listening();
    pid_t victim = workers.rbegin()->second;
    ASSERT_EQ(::kill(victim, SIGKILL), 0);
    ASSERT_TRUE(p->wait_listening(workers.size() + 1)) << p->err();
    ASSERT_TRUE(test::wait_for([&] { return reaped(victim); }));
  }
  // The exit of the last victim is handled before its replacement listens; its handles are freed
  // in the same loop iteration, so the count settles at once.
  EXPECT_TRUE(test::wait_for([&] { return fd_count(p->pid()) == fds; }))
      << fds << " descriptors before, " << fd_count(p->pid()) << " after";
}

INSTANTIATE_TEST_SUITE_P(Modes, ClusterHello, ::testing::Values("rr", "shared", "reuseport"),
                         [](const auto& info) { return info.param; });

TEST(ClusterHelloRoundRobin, TwoWorkersShareTwoThousandConnectionsFairly) {
  ASSERT_EQ(::access(hello_path().c_str(), X_OK), 0);
  auto p =
      Primary::start({"--host", "127.0.0.1", "--port", "0", "--workers", "2", "--sched", "rr"});
  ASSERT_TRUE(p);
  ASSERT_TRUE(p->wait_listening(2)) << p->err();
  int port = 0;
  p->listening(&port);
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE(get_ok(port)) << "connection " << i;
  auto stats = p->stats();
  ASSERT_EQ(stats.size(), 2u) << p->err();
  for (auto [id, n] : stats) {
    EXPECT_GE(n, 700) << "worker " << id;   // 35%
    EXPECT_LE(n, 1300) << "worker " << id;  // 65%
  }
}

// Healing: the delay before a replacement grows by 1.5 from 100 ms for a slot whose workers keep
// dying young; a worker that leaves on purpose (SIGTERM to the worker: it disconnects itself)
// is not replaced.
TEST(ClusterHelloHealing, BackoffGrowsAndWorkersStoppedOnPurposeStayStopped) {
  ASSERT_EQ(::access(hello_path().c_str(), X_OK), 0);
  auto p = Primary::start({"--host", "127.0.0.1", "--port", "0", "--workers", "1"});
  ASSERT_TRUE(p);
  ASSERT_TRUE(p->wait_listening(1)) << p->err();
  for (const char* delay : {"100 ms", "150 ms", "225 ms"}) {
    auto workers = p->listening();
    ASSERT_EQ(::kill(workers.rbegin()->second, SIGKILL), 0);
    ASSERT_TRUE(p->wait_text(std::string("restarting slot 0 in ") + delay)) << p->err();
    ASSERT_TRUE(p->wait_listening(workers.size() + 1)) << p->err();
  }
  auto workers = p->listening();
  pid_t last = workers.rbegin()->second;
  std::size_t from = p->err().size();
  ASSERT_EQ(::kill(last, SIGTERM), 0);
  ASSERT_TRUE(p->wait_text("(pid " + std::to_string(last) + ") exited (code 0)", from)) << p->err();
  // With no worker left the primary has nothing to run: it ends, and no replacement started.
  auto code = p->wait_exit(seconds(15));
  ASSERT_TRUE(code.has_value()) << p->err();
  EXPECT_EQ(p->listening().size(), workers.size()) << p->err();
  EXPECT_EQ(p->err().find("restarting slot 0 in 338 ms"), std::string::npos) << p->err();
}

// The default scheduling (reuseport) on a Unix socket: SO_REUSEPORT is for TCP, so every worker
// accepts from the one socket; the primary removes the file when it stops.
TEST(ClusterHelloUnix, DefaultSchedulingServesAUnixSocket) {
  ASSERT_EQ(::access(hello_path().c_str(), X_OK), 0);
  test::TempDir dir("cluster");  // removed with what is left in it, whatever happens
  std::string path = dir / "hello.sock";
  {
    auto p = Primary::start({"--host", "unix:" + path, "--workers", "2"});
    ASSERT_TRUE(p);
    ASSERT_TRUE(p->until([&] {
      std::size_t first = p->err().find("listening on unix:" + path);
      return first != std::string::npos &&
             p->err().find("listening on unix:" + path, first + 1) != std::string::npos;
    })) << p->err();
    EXPECT_NE(p->err().find("scheduling reuseport"), std::string::npos) << p->err();
    for (int i = 0; i < 10; ++i) {
      Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
      sockaddr_un sun{};
      sun.sun_family = AF_UNIX;
      std::snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path.c_str());
      ASSERT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&sun), sizeof(sun)), 0);
      const char req[] = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
      ASSERT_EQ(::send(fd.get(), req, sizeof(req) - 1, MSG_NOSIGNAL), ssize_t(sizeof(req) - 1));
      std::string got;
      char buf[1024];
      for (ssize_t n; (n = ::recv(fd.get(), buf, sizeof(buf), 0)) > 0;) {
        got.append(buf, static_cast<std::size_t>(n));
      }
      EXPECT_TRUE(got.ends_with("\r\n\r\nHello World!\n")) << got;
    }
    ASSERT_EQ(::kill(p->pid(), SIGINT), 0);
    EXPECT_EQ(p->wait_exit(seconds(15)), 0) << p->err();
  }
  EXPECT_NE(::access(path.c_str(), F_OK), 0) << "the socket file is left behind";
}

TEST(ClusterHelloErrors, BadWorkerCountOrSchedulingIsRefused) {
  ASSERT_EQ(::access(hello_path().c_str(), X_OK), 0);
  {
    auto p = Primary::start({"--port", "0", "--workers", "two"});
    ASSERT_TRUE(p);
    auto code = p->wait_exit(seconds(10));
    EXPECT_EQ(code, 1);
    EXPECT_NE(p->err().find("--workers \"two\""), std::string::npos) << p->err();
  }
  {
    auto p = Primary::start({"--port", "0", "--workers", "auto"}, {"HERD_CLUSTER_SCHED=fast"});
    ASSERT_TRUE(p);
    auto code = p->wait_exit(seconds(10));
    EXPECT_EQ(code, 1);
    EXPECT_NE(p->err().find("HERD_CLUSTER_SCHED: scheduling \"fast\": expected rr, shared or "
                            "reuseport"),
              std::string::npos)
        << p->err();
  }
  {
    auto p = Primary::start({"--port", "0", "--workers", "auto"}, {"HERD_WORKERS=0"});
    ASSERT_TRUE(p);
    auto code = p->wait_exit(seconds(10));
    EXPECT_EQ(code, 1);
    EXPECT_NE(p->err().find("HERD_WORKERS \"0\""), std::string::npos) << p->err();
  }
}

}  // namespace
}  // namespace herd
