// The test binary as an app under herd: `HERD_TEST_ROLE=<role> herd start <test binary>` runs one
// of these instead of the tests. They report through files named by HERD_E2E_FILE, since their
// stdout goes to herd's log files.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "e2e/herd_fixture.h"
#include "herd/net/socket_activation.h"
#include "support/child_process.h"

namespace herd::e2e {
namespace {

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

void say(const std::string& line) {
  std::string l = line + "\n";
  [[maybe_unused]] ssize_t n = ::write(STDOUT_FILENO, l.data(), l.size());
}

// Blocks SIGINT (herd's stop signal), says so in HERD_E2E_FILE, and waits for SIGKILL.
bool block_sigint = test::register_role("block_sigint", [](int, char**) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  write_file(env_or_empty(kFileVar), "blocking SIGINT\n");
  for (;;) ::pause();
  return 0;
});

// Sends READY=1 only once the file HERD_E2E_READY exists; then runs until stopped.
bool ready_on_file = test::register_role("ready_on_file", [](int, char**) {
  std::string file = env_or_empty(kReadyFileVar);
  if (!wait_for([&] { return file_exists(file); }, 120s, 10ms)) return 2;
  if (Status s = sd_notify("READY=1"); !s) {
    std::fprintf(stderr, "sd_notify: %s\n", s.error().message().c_str());
    return 3;
  }
  for (;;) ::pause();
  return 0;
});

// Prints "printer started", then "marker-<n>" for the n-th SIGUSR1; exits 0 on SIGINT/SIGTERM.
bool marker_printer = test::register_role("marker_printer", [](int, char**) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  say("printer started");
  for (int n = 1;;) {
    int sig = 0;
    if (::sigwait(&set, &sig) != 0) continue;
    if (sig != SIGUSR1) return 0;
    say("marker-" + std::to_string(n++));
  }
});

// What a cluster-mode instance must have received, or the first thing that is wrong.
std::string check_activation(const std::string& instance) {
  std::string fds = env_or_empty("LISTEN_FDS");
  if (fds != "1") return "LISTEN_FDS is '" + fds + "', not 1";
  std::string pid = env_or_empty("LISTEN_PID");
  if (pid != std::to_string(::getpid())) {
    return "LISTEN_PID is '" + pid + "', not this pid " + std::to_string(::getpid());
  }
  if (env_or_empty("LISTEN_FDNAMES").empty()) return "LISTEN_FDNAMES is not set";
  int accepting = 0, type = 0;
  socklen_t len = sizeof(accepting);
  if (::getsockopt(3, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) < 0) {
    return std::string("fd 3: getsockopt SO_ACCEPTCONN: ") + std::strerror(errno);
  }
  if (accepting != 1) return "fd 3 is not a listening socket";
  len = sizeof(type);
  if (::getsockopt(3, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM) {
    return "fd 3 is not a stream socket";
  }
  sockaddr_storage addr{};
  len = sizeof(addr);
  if (::getsockname(3, reinterpret_cast<sockaddr*>(&addr), &len) < 0 || addr.ss_family != AF_INET) {
    return "fd 3 is not an IPv4 socket";
  }
  if (instance.empty()) return "NODE_APP_INSTANCE is not set";
  if (env_or_empty("HERD_INSTANCE") != instance) {
    return "HERD_INSTANCE '" + env_or_empty("HERD_INSTANCE") + "' differs from NODE_APP_INSTANCE";
  }
  return {};
}

// Cluster mode: checks the inherited socket and environment, writes "ok <instance>" (or what is
// wrong) to $HERD_E2E_FILE.<instance>, says READY=1, then answers each connection on fd 3 with
// its instance number until it is stopped.
bool listen_app = test::register_role("listen_app", [](int, char**) {
  std::string instance = env_or_empty("NODE_APP_INSTANCE");
  std::string problem = check_activation(instance);
  write_file(env_or_empty(kFileVar) + "." + instance,
             problem.empty() ? "ok " + instance : "fail: " + problem);
  if (!problem.empty()) return 3;
  if (Status s = sd_notify("READY=1"); !s) return 4;
  std::string answer = instance + "\n";
  for (;;) {
    // The socket is shared with the other instances (and may be non-blocking): wait, then try.
    pollfd p{3, POLLIN, 0};
    if (::poll(&p, 1, -1) < 0 && errno != EINTR) return 5;
    int c = ::accept4(3, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED) {
        continue;
      }
      return 6;
    }
    [[maybe_unused]] ssize_t n = ::send(c, answer.data(), answer.size(), MSG_NOSIGNAL);
    ::close(c);
  }
});

}  // namespace
}  // namespace herd::e2e
