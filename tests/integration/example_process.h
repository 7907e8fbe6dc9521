// What the example tests share: starting an example as a real process (descriptors at 3 for
// socket activation, LISTEN_PID written in the child, killed by pid when the test ends and by
// the kernel if the test dies), plain-socket HTTP, and a receiver for sd_notify.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "herd/base/fd.h"
#include "herd/net/address.h"
#include "support/child_process.h"

namespace herd {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

constexpr const char* kCurl = "/usr/bin/curl";

inline std::string bin_dir() {
  std::string self = test::self_exe();
  return self.substr(0, self.rfind('/'));
}

inline int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::max<long long>(left, 0));
}

// ---------------------------------------------------------------------------------------------
// A child process with its stdout and stderr captured (support/child.h), killed (SIGKILL, by pid)
// and reaped when the object goes away unless it has already been reaped, and by the kernel if
// the test dies.

struct Spawn {
  std::vector<std::string> argv;
  std::vector<std::string> env;  // added to this process's environment (minus LISTEN_*, ...)
  std::vector<int> fds;          // placed at 3, 4, ... in the child, inheritable
  bool listen_pid = false;       // LISTEN_PID=<the child's pid>, written after fork
};

class Process {
 public:
  static std::unique_ptr<Process> start(const Spawn& spec) {
    test::ChildSpec child;
    child.argv = spec.argv;
    child.env_remove = {"LISTEN_", "NOTIFY_SOCKET=", "HERD_TEST_ROLE=", "PORT="};
    child.env = spec.env;
    child.fds = spec.fds;
    child.listen_pid = spec.listen_pid;
    auto p = std::unique_ptr<Process>(new Process());
    if (!p->child_.start(child)) return nullptr;
    return p;
  }

  pid_t pid() const { return child_.pid(); }
  const std::string& out() const { return child_.out(); }
  const std::string& err() const { return child_.err(); }

  // Collects output until `done()` or the deadline; false on timeout.
  bool pump_until(const std::function<bool()>& done, milliseconds timeout) {
    return child_.pump_until(done, timeout);
  }
  bool wait_for_stderr(const std::string& text, milliseconds timeout) {
    return pump_until([&] { return err().find(text) != std::string::npos; }, timeout);
  }

  // Waits for the process to end (reading its output meanwhile). The exit code, or 128 + the
  // signal that killed it; nullopt on timeout (the process is left running for ~Process).
  std::optional<int> wait_exit(milliseconds timeout) {
    return child_.wait_exit(timeout) ? child_.code() : std::nullopt;
  }

 private:
  Process() = default;
  test::Child child_;
};

struct Ran {
  std::optional<int> code;
  std::string out, err;
};

inline Ran run(const std::vector<std::string>& argv, milliseconds timeout = seconds(30)) {
  auto p = Process::start({argv, {}, {}, false});
  if (!p) return {};
  Ran r;
  r.code = p->wait_exit(timeout);
  r.out = p->out();
  r.err = p->err();
  return r;
}

// ---------------------------------------------------------------------------------------------
// Sockets.

// A listening TCP socket on 127.0.0.1 with a kernel-chosen port, as herd or systemd would hand
// it over (blocking; the server makes it non-blocking when it adopts it).
inline Fd listening_socket() {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&sin), sizeof(sin)), 0);
  EXPECT_EQ(::listen(fd.get(), 64), 0);
  return fd;
}

inline int port_of(const Fd& fd) {
  auto a = Address::local_of(fd.get());
  return a ? a->port() : 0;
}

// A port that was free a moment ago (for the cases where the server must bind it itself).
inline int free_port() {
  Fd s = listening_socket();
  return port_of(s);
}

inline Fd connect_to(int port) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(static_cast<std::uint16_t>(port));
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) < 0) return Fd();
  return fd;
}

inline bool send_all(const Fd& fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd.get(), data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Reads until the server closes the connection or the deadline passes.
inline std::string read_to_eof(const Fd& fd, milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  std::string got;
  for (;;) {
    pollfd p{fd.get(), POLLIN, 0};
    int r = ::poll(&p, 1, remaining_ms(deadline));
    if (r <= 0) break;
    char buf[4096];
    ssize_t n = ::recv(fd.get(), buf, sizeof(buf), 0);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  return got;
}

inline std::string get_request(const std::string& target) {
  return "GET " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
}

// One request on its own connection; the whole response (head and body).
inline std::string http_get(int port, const std::string& target,
                            milliseconds timeout = seconds(10)) {
  Fd c = connect_to(port);
  if (!c || !send_all(c, get_request(target))) return {};
  return read_to_eof(c, timeout);
}

inline std::string body_of(const std::string& response) {
  auto at = response.find("\r\n\r\n");
  return at == std::string::npos ? std::string() : response.substr(at + 4);
}

// A datagram socket at a fresh path: the receiving end of sd_notify.
class NotifySocket {
 public:
  NotifySocket() {
    char tmpl[] = "/tmp/herd-notify-XXXXXX";
    if (::mkdtemp(tmpl) != nullptr) dir_ = tmpl;
    path_ = dir_ + "/notify";
    auto address = Address::parse("unix:" + path_);
    fd_ = Fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    EXPECT_EQ(::bind(fd_.get(), address->data(), address->size()), 0);
  }
  ~NotifySocket() {
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  std::string env() const { return "NOTIFY_SOCKET=" + path_; }
  // Waits for a datagram that contains `line` as one of its lines.
  bool wait_for(const std::string& line, milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
      pollfd p{fd_.get(), POLLIN, 0};
      if (::poll(&p, 1, remaining_ms(deadline)) <= 0) return false;
      char buf[4096];
      ssize_t n = ::recv(fd_.get(), buf, sizeof(buf), 0);
      if (n <= 0) continue;
      std::string datagram(buf, static_cast<std::size_t>(n));
      received_.push_back(datagram);
      if (("\n" + datagram + "\n").find("\n" + line + "\n") != std::string::npos) return true;
    }
  }
  const std::vector<std::string>& received() const { return received_; }

 private:
  std::string dir_, path_;
  Fd fd_;
  std::vector<std::string> received_;
};

std::unique_ptr<Process> start_adopted(const std::string& binary, const Fd& socket,
                                       std::vector<std::string> args = {},
                                       std::vector<std::string> env = {}) {
  std::vector<std::string> argv{bin_dir() + "/" + binary};
  argv.insert(argv.end(), args.begin(), args.end());
  env.push_back("LISTEN_FDS=1");
  return Process::start({argv, env, {socket.get()}, true});
}

}  // namespace
}  // namespace herd
