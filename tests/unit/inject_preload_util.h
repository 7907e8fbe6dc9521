// What the tests of herd's bind library (inject_preload_test.cc, inject_preload_unix_test.cc,
// inject_preload_blocking_test.cc) share: the fake daemon on the other end of the bind channel,
// the InjectPreload fixture that turns the library on and off, and small socket helpers.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "herd/base/fd.h"
#include "herd/net/address.h"

extern "C" {
#include "inject/bind_protocol.h"
void herd_inject_reset_for_test(void);
extern void (*herd_inject_after_stat_for_test)(void);
}

// A named namespace: the fixture must be one class for the suite across the three files.
namespace herd::inject_test {

// What the fake daemon answers to one request.
struct Reply {
  std::uint32_t magic = HERD_BIND_MAGIC;
  std::int32_t error = 0;
  int fd = -1;  // sent as SCM_RIGHTS when >= 0 (the daemon keeps its own copy)
};

// herd's end of a bind channel, on a thread: answers each request with `answer(request)`.
class FakeDaemon {
 public:
  using Answer = std::function<Reply(const herd_bind_request&)>;

  explicit FakeDaemon(Answer answer) : answer_(std::move(answer)) {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    daemon_.reset(sv[0]);
    program_.reset(sv[1]);
    int p[2];
    EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
    stop_read_.reset(p[0]);
    stop_write_.reset(p[1]);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeDaemon() { stop(); }
  FakeDaemon(const FakeDaemon&) = delete;
  FakeDaemon& operator=(const FakeDaemon&) = delete;

  // The program's end: what HERD_BIND_FD names.
  int program_end() const { return program_.get(); }

  // Stops answering and closes herd's end, as when the daemon goes away.
  void hang_up() {
    stop();
    daemon_.reset();
  }

  std::vector<herd_bind_request> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  void stop() {
    if (!thread_.joinable()) return;
    char byte = 1;
    EXPECT_EQ(::write(stop_write_.get(), &byte, 1), 1);
    thread_.join();
  }

  void serve() {
    for (;;) {
      pollfd p[2] = {{daemon_.get(), POLLIN, 0}, {stop_read_.get(), POLLIN, 0}};
      if (::poll(p, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (p[1].revents != 0) return;
      herd_bind_request req;
      std::memset(&req, 0, sizeof(req));
      ssize_t n = ::recv(daemon_.get(), &req, sizeof(req), 0);
      if (n <= 0) return;  // the program's end is closed
      {
        std::lock_guard lock(mu_);
        requests_.push_back(req);
      }
      Reply r = answer_(req);
      herd_bind_reply out{r.magic, r.error};
      if (send_with_descriptor(daemon_.get(), &out, sizeof(out), r.fd) < 0) return;
    }
  }

  Answer answer_;
  Fd daemon_, program_, stop_read_, stop_write_;
  mutable std::mutex mu_;
  std::vector<herd_bind_request> requests_;
  std::thread thread_;
};

inline Address addr(const std::string& text) {
  auto a = Address::parse(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a ? *a : Address();
}

inline Address loopback(std::uint16_t port) { return addr("127.0.0.1:" + std::to_string(port)); }

// A port free on 127.0.0.1 right now (bound to port 0: the library leaves that alone).
inline std::uint16_t free_port() {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  Address any = loopback(0);
  EXPECT_EQ(::bind(fd.get(), any.data(), any.size()), 0) << std::strerror(errno);
  auto bound = Address::local_of(fd.get());
  EXPECT_TRUE(bound.has_value());
  return bound ? bound->port() : 0;
}

// herd's listening socket, as the daemon holds it: 127.0.0.1, a port of the kernel's choosing,
// backlog 100.
inline Fd daemon_listener() {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  Address any = loopback(0);
  EXPECT_EQ(::bind(fd.get(), any.data(), any.size()), 0) << std::strerror(errno);
  EXPECT_EQ(::listen(fd.get(), 100), 0) << std::strerror(errno);
  return fd;
}

inline std::uint16_t port_of(int fd) {
  auto a = Address::local_of(fd);
  return a ? a->port() : 0;
}

struct StatId {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const StatId&) const = default;
};

inline StatId id_of(int fd) {
  struct stat st {};
  EXPECT_EQ(::fstat(fd, &st), 0) << std::strerror(errno);
  return {st.st_dev, st.st_ino};
}

// A listening TCP socket's backlog, as the kernel keeps it (TCP_INFO reports sk_max_ack_backlog
// in tcpi_sacked for a listener).
inline int backlog_of(int fd) {
  tcp_info info{};
  socklen_t len = sizeof(info);
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) < 0) return -1;
  return static_cast<int>(info.tcpi_sacked);
}

inline int open_fd_count() {
  int n = 0;
  for (int fd = 0; fd < 4096; ++fd) {
    if (::fcntl(fd, F_GETFD) >= 0) ++n;
  }
  return n;
}

inline bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

inline std::string path_of(const herd_bind_request& req) {
  const auto* un = reinterpret_cast<const sockaddr_un*>(&req.addr);
  if (un->sun_family != AF_UNIX) return "?";
  return std::string(un->sun_path, ::strnlen(un->sun_path, sizeof(un->sun_path)));
}

inline Address address_of(const herd_bind_request& req) {
  return Address::from_sockaddr(reinterpret_cast<const sockaddr*>(&req.addr), req.addr_len);
}

inline std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class InjectPreload : public ::testing::Test {
 protected:
  void TearDown() override {
    deactivate();
    if (!saved_cwd_.empty()) {
      EXPECT_EQ(::chdir(saved_cwd_.c_str()), 0);
    }
    // Now that unlink() is libc's again, the files go.
    for (const auto& f : files_) ::unlink(f.c_str());
    if (!dir_.empty()) ::rmdir(dir_.c_str());
  }

  // Makes the library take the channel at `fd` for process `pid`.
  static void activate(const std::string& fd, const std::string& pid) {
    ::setenv(HERD_BIND_FD_ENV, fd.c_str(), 1);
    ::setenv(HERD_BIND_PID_ENV, pid.c_str(), 1);
    herd_inject_reset_for_test();
  }
  static void activate(int fd) { activate(std::to_string(fd), std::to_string(::getpid())); }
  static void deactivate() {
    ::unsetenv(HERD_BIND_FD_ENV);
    ::unsetenv(HERD_BIND_PID_ENV);
    herd_inject_reset_for_test();
  }

  // A private directory (its real path), removed at the end with the files named by file().
  const std::string& dir() {
    if (dir_.empty()) {
      char tmpl[] = "/tmp/herd-inject-XXXXXX";
      EXPECT_NE(::mkdtemp(tmpl), nullptr);
      char real[PATH_MAX];
      EXPECT_NE(::realpath(tmpl, real), nullptr);
      dir_ = real;
    }
    return dir_;
  }
  std::string file(const std::string& name) {
    files_.push_back(dir() + "/" + name);
    return files_.back();
  }
  void chdir_to_dir() {
    char cwd[PATH_MAX];
    ASSERT_NE(::getcwd(cwd, sizeof(cwd)), nullptr);
    saved_cwd_ = cwd;
    ASSERT_EQ(::chdir(dir().c_str()), 0);
  }

  // A plain bind of a fresh TCP socket to a free 127.0.0.1 port: succeeds, and the socket is
  // still the program's own.
  static void expect_plain_bind() {
    Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(s.valid());
    StatId before = id_of(s.get());
    std::uint16_t port = free_port();
    Address a = loopback(port);
    EXPECT_EQ(::bind(s.get(), a.data(), a.size()), 0) << std::strerror(errno);
    EXPECT_EQ(id_of(s.get()), before);
    EXPECT_EQ(port_of(s.get()), port);
  }

 private:
  std::string dir_;
  std::vector<std::string> files_;
  std::string saved_cwd_;
};

// The daemon's answer to BIND: `fd` for every BIND, 0 for everything else.
inline FakeDaemon::Answer give(int fd) {
  return [fd](const herd_bind_request& req) {
    Reply r;
    if (req.op == HERD_BIND_OP_BIND) r.fd = fd;
    return r;
  };
}

}  // namespace herd::inject_test
