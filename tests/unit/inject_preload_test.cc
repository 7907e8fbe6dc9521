// herd's bind library (src/inject/bind_preload.c), compiled into this test binary with
// HERD_INJECT_TESTING: its bind(), listen(), unlink() and unlinkat() are this binary's own and
// stand in front of libc's for every call the binary makes, as LD_PRELOAD puts them in front in
// an injected program. A fake daemon (a thread on the other end of a SEQPACKET pair) answers the
// requests and records them; the test sets HERD_BIND_FD / HERD_BIND_PID and re-reads them with
// herd_inject_reset_for_test(). Each test leaves the library inactive again.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "herd/address.h"
#include "herd/fd.h"

extern "C" {
#include "inject/bind_protocol.h"
void herd_inject_reset_for_test(void);
}

namespace herd {
namespace {

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
      iovec iov{&out, sizeof(out)};
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
      if (r.fd >= 0) {
        msg.msg_control = control;
        msg.msg_controllen = sizeof(control);
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(c), &r.fd, sizeof(int));
      }
      if (::sendmsg(daemon_.get(), &msg, MSG_NOSIGNAL) < 0) return;
    }
  }

  Answer answer_;
  Fd daemon_, program_, stop_read_, stop_write_;
  mutable std::mutex mu_;
  std::vector<herd_bind_request> requests_;
  std::thread thread_;
};

Address addr(const std::string& text) {
  auto a = Address::parse(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a ? *a : Address();
}

Address loopback(std::uint16_t port) { return addr("127.0.0.1:" + std::to_string(port)); }

// A port free on 127.0.0.1 right now (bound to port 0: the library leaves that alone).
std::uint16_t free_port() {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  Address any = loopback(0);
  EXPECT_EQ(::bind(fd.get(), any.data(), any.size()), 0) << std::strerror(errno);
  auto bound = Address::local_of(fd.get());
  EXPECT_TRUE(bound.has_value());
  return bound ? bound->port() : 0;
}

// herd's listening socket, as the daemon holds it: 127.0.0.1, a port of the kernel's choosing,
// backlog 100.
Fd daemon_listener() {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  Address any = loopback(0);
  EXPECT_EQ(::bind(fd.get(), any.data(), any.size()), 0) << std::strerror(errno);
  EXPECT_EQ(::listen(fd.get(), 100), 0) << std::strerror(errno);
  return fd;
}

std::uint16_t port_of(int fd) {
  auto a = Address::local_of(fd);
  return a ? a->port() : 0;
}

struct StatId {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const StatId&) const = default;
};

StatId id_of(int fd) {
  struct stat st {};
  EXPECT_EQ(::fstat(fd, &st), 0) << std::strerror(errno);
  return {st.st_dev, st.st_ino};
}

// A listening TCP socket's backlog, as the kernel keeps it (TCP_INFO reports sk_max_ack_backlog
// in tcpi_sacked for a listener).
int backlog_of(int fd) {
  tcp_info info{};
  socklen_t len = sizeof(info);
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) < 0) return -1;
  return static_cast<int>(info.tcpi_sacked);
}

int open_fd_count() {
  int n = 0;
  for (int fd = 0; fd < 4096; ++fd) {
    if (::fcntl(fd, F_GETFD) >= 0) ++n;
  }
  return n;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

std::string path_of(const herd_bind_request& req) {
  const auto* un = reinterpret_cast<const sockaddr_un*>(&req.addr);
  if (un->sun_family != AF_UNIX) return "?";
  return std::string(un->sun_path, ::strnlen(un->sun_path, sizeof(un->sun_path)));
}

Address address_of(const herd_bind_request& req) {
  return Address::from_sockaddr(reinterpret_cast<const sockaddr*>(&req.addr), req.addr_len);
}

std::size_t count_of(const std::string& text, const std::string& what) {
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
FakeDaemon::Answer give(int fd) {
  return [fd](const herd_bind_request& req) {
    Reply r;
    if (req.op == HERD_BIND_OP_BIND) r.fd = fd;
    return r;
  };
}

TEST_F(InjectPreload, ATcpBindGetsHerdsSocketWithTheProgramsFlags) {
  Fd herd_socket = daemon_listener();
  std::uint16_t port = port_of(herd_socket.get());
  FakeDaemon daemon(give(herd_socket.get()));
  activate(daemon.program_end());

  Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(s.valid());
  int fds_before = open_fd_count();
  Address wanted = loopback(port);
  errno = EDOM;
  // herd holds the port: the program's own bind would fail with EADDRINUSE.
  ASSERT_EQ(::bind(s.get(), wanted.data(), wanted.size()), 0) << std::strerror(errno);
  EXPECT_EQ(errno, EDOM);  // a successful call leaves errno alone

  auto reqs = daemon.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].magic, HERD_BIND_MAGIC);
  EXPECT_EQ(reqs[0].version, HERD_BIND_VERSION);
  EXPECT_EQ(reqs[0].op, HERD_BIND_OP_BIND);
  EXPECT_EQ(reqs[0].v6only, -1);
  EXPECT_EQ(reqs[0].reserved, 0u);
  EXPECT_EQ(reqs[0].addr_len, sizeof(sockaddr_in));
  EXPECT_EQ(address_of(reqs[0]), wanted);

  // The program's descriptor number now is herd's socket, with the program's flags.
  EXPECT_EQ(id_of(s.get()), id_of(herd_socket.get()));
  EXPECT_NE(::fcntl(s.get(), F_GETFL) & O_NONBLOCK, 0);
  EXPECT_NE(::fcntl(s.get(), F_GETFD) & FD_CLOEXEC, 0);
  EXPECT_EQ(open_fd_count(), fds_before);  // the descriptor that came with the answer is closed
  // And it takes connections.
  Fd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_EQ(::connect(client.get(), wanted.data(), wanted.size()), 0) << std::strerror(errno);
  Fd accepted(::accept4(s.get(), nullptr, nullptr, SOCK_CLOEXEC));
  EXPECT_TRUE(accepted.valid()) << std::strerror(errno);
}

TEST_F(InjectPreload, ABlockingInheritableSocketStaysSo) {
  // herd's socket is non-blocking and CLOEXEC; the program's is neither, and keeps seeing so.
  Fd herd_socket = daemon_listener();
  FakeDaemon daemon(give(herd_socket.get()));
  activate(daemon.program_end());

  Fd s(::socket(AF_INET, SOCK_STREAM, 0));
  ASSERT_TRUE(s.valid());
  Address wanted = loopback(port_of(herd_socket.get()));
  ASSERT_EQ(::bind(s.get(), wanted.data(), wanted.size()), 0) << std::strerror(errno);
  ASSERT_EQ(daemon.requests().size(), 1u);
  EXPECT_EQ(id_of(s.get()), id_of(herd_socket.get()));
  // The program sees its own choice; the socket it shares with herd stays non-blocking.
  EXPECT_EQ(::fcntl(s.get(), F_GETFL) & O_NONBLOCK, 0);
  EXPECT_NE(::fcntl(herd_socket.get(), F_GETFL) & O_NONBLOCK, 0);
  EXPECT_EQ(::fcntl(s.get(), F_GETFD) & FD_CLOEXEC, 0);
}

TEST_F(InjectPreload, EachProcessKeepsItsOwnBlockingChoiceOnTheSharedSocket) {
  Fd herd_socket = daemon_listener();
  FakeDaemon daemon(give(herd_socket.get()));
  activate(daemon.program_end());
  Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));  // blocking, as the program wants
  Address wanted = loopback(port_of(herd_socket.get()));
  ASSERT_EQ(::bind(s.get(), wanted.data(), wanted.size()), 0) << std::strerror(errno);

  // Another instance (here: herd's copy) sees a non-blocking socket and gets EAGAIN, never a
  // blocked accept, while this program's accept() waits for a connection.
  EXPECT_EQ(::accept4(herd_socket.get(), nullptr, nullptr, SOCK_CLOEXEC), -1);
  EXPECT_EQ(errno, EAGAIN);
  int got = -2;
  std::thread waiter([&] { got = ::accept(s.get(), nullptr, nullptr); });
  Fd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_EQ(::connect(client.get(), wanted.data(), wanted.size()), 0) << std::strerror(errno);
  waiter.join();
  EXPECT_GE(got, 0) << "a blocking accept() on the shared socket failed: " << std::strerror(errno);
  if (got >= 0) ::close(got);

  // The program changes its mind, with ioctl or fcntl: its view follows, the socket does not.
  int on = 1;
  ASSERT_EQ(::ioctl(s.get(), FIONBIO, &on), 0);
  EXPECT_NE(::fcntl(s.get(), F_GETFL) & O_NONBLOCK, 0);
  EXPECT_EQ(::accept(s.get(), nullptr, nullptr), -1);
  EXPECT_EQ(errno, EAGAIN);
  int flags = ::fcntl(s.get(), F_GETFL);
  ASSERT_EQ(::fcntl(s.get(), F_SETFL, flags & ~O_NONBLOCK), 0);
  EXPECT_EQ(::fcntl(s.get(), F_GETFL) & O_NONBLOCK, 0);
  EXPECT_NE(::fcntl(herd_socket.get(), F_GETFL) & O_NONBLOCK, 0);
  // Other descriptors are not affected.
  Fd other(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_EQ(::fcntl(other.get(), F_SETFL, O_NONBLOCK), 0);
  EXPECT_NE(::fcntl(other.get(), F_GETFL) & O_NONBLOCK, 0);
  int off = 0;
  ASSERT_EQ(::ioctl(other.get(), FIONBIO, &off), 0);
  EXPECT_EQ(::fcntl(other.get(), F_GETFL) & O_NONBLOCK, 0);
}

TEST_F(InjectPreload, ListenOnHerdsSocketSaysListeningAndKeepsHerdsBacklog) {
  Fd herd_socket = daemon_listener();
  ASSERT_EQ(backlog_of(herd_socket.get()), 100);
  std::uint16_t port = port_of(herd_socket.get());
  FakeDaemon daemon(give(herd_socket.get()));
  activate(daemon.program_end());

  Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  Address wanted = loopback(port);
  ASSERT_EQ(::bind(s.get(), wanted.data(), wanted.size()), 0) << std::strerror(errno);
  errno = EDOM;
  EXPECT_EQ(::listen(s.get(), 3), 0);
  EXPECT_EQ(errno, EDOM);
  auto reqs = daemon.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[1].magic, HERD_BIND_MAGIC);
  EXPECT_EQ(reqs[1].op, HERD_BIND_OP_LISTENING);
  EXPECT_EQ(reqs[1].backlog, 3);
  EXPECT_EQ(reqs[1].addr_len, sizeof(sockaddr_in));
  EXPECT_EQ(address_of(reqs[1]), wanted);
  // Python's socketserver asks for 5: herd's queue, shared by every instance, stays as it was.
  EXPECT_EQ(backlog_of(herd_socket.get()), 100);

  // A socket herd did not give: a plain listen, nothing asked.
  Fd own(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  Address any = loopback(0);
  ASSERT_EQ(::bind(own.get(), any.data(), any.size()), 0);
  EXPECT_EQ(::listen(own.get(), 3), 0);
  EXPECT_EQ(backlog_of(own.get()), 3);
  EXPECT_EQ(daemon.requests().size(), 2u);
}

TEST_F(InjectPreload, PortZeroUdpAndNoChannelAreBoundAsUsual) {
  Fd herd_socket = daemon_listener();
  FakeDaemon daemon(give(herd_socket.get()));
  activate(daemon.program_end());
  {
    SCOPED_TRACE("port 0");
    Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    StatId before = id_of(s.get());
    Address any = loopback(0);
    ASSERT_EQ(::bind(s.get(), any.data(), any.size()), 0) << std::strerror(errno);
    EXPECT_EQ(id_of(s.get()), before);
    EXPECT_NE(port_of(s.get()), 0);
  }
  {
    SCOPED_TRACE("UDP");
    Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    StatId before = id_of(s.get());
    std::uint16_t port = free_port();
    Address a = loopback(port);
    ASSERT_EQ(::bind(s.get(), a.data(), a.size()), 0) << std::strerror(errno);
    EXPECT_EQ(id_of(s.get()), before);
    EXPECT_EQ(port_of(s.get()), port);
  }
  {
    SCOPED_TRACE("Unix datagram socket");
    Fd s(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    Address a = addr(file("dgram.sock"));
    ASSERT_EQ(::bind(s.get(), a.data(), a.size()), 0) << std::strerror(errno);
    EXPECT_TRUE(exists(file("dgram.sock")));
  }
  {
    SCOPED_TRACE("an address of another family than the socket");
    Fd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    Address a = loopback(port_of(herd_socket.get()));
    EXPECT_EQ(::bind(s.get(), a.data(), a.size()), -1);
  }
  {
    SCOPED_TRACE("a null address");
    Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    EXPECT_EQ(::bind(s.get(), nullptr, 0), -1);
  }
  EXPECT_EQ(daemon.requests().size(), 0u);
  {
    SCOPED_TRACE("no HERD_BIND_FD");
    ::unsetenv(HERD_BIND_FD_ENV);
    herd_inject_reset_for_test();
    Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    Address a = loopback(port_of(herd_socket.get()));
    EXPECT_EQ(::bind(s.get(), a.data(), a.size()), -1);  // the kernel's answer: herd's is there
    EXPECT_EQ(errno, EADDRINUSE);
    expect_plain_bind();
  }
  EXPECT_EQ(daemon.requests().size(), 0u);
}

TEST_F(InjectPreload, AnErrorAnswerFailsTheBindWithThatErrno) {
  Fd herd_socket = daemon_listener();
  std::uint16_t port = port_of(herd_socket.get());
  std::uint16_t taken = free_port();
  FakeDaemon daemon([&](const herd_bind_request& req) {
    Reply r;
    if (address_of(req).port() == taken) {
      r.error = EADDRINUSE;  // another app holds it
    } else if (req.op == HERD_BIND_OP_BIND) {
      r.fd = herd_socket.get();
    }
    return r;
  });
  activate(daemon.program_end());

  Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  StatId before = id_of(s.get());
  Address a = loopback(taken);
  EXPECT_EQ(::bind(s.get(), a.data(), a.size()), -1);
  EXPECT_EQ(errno, EADDRINUSE);
  EXPECT_EQ(id_of(s.get()), before);
  EXPECT_EQ(port_of(s.get()), 0);  // not bound
  // The channel is still in use: the next bind gets herd's socket.
  Address good = loopback(port);
  EXPECT_EQ(::bind(s.get(), good.data(), good.size()), 0) << std::strerror(errno);
  EXPECT_EQ(id_of(s.get()), id_of(herd_socket.get()));
  EXPECT_EQ(daemon.requests().size(), 2u);
}

TEST_F(InjectPreload, AChannelThatIsNotHerdsMeansPlainBinds) {
  auto pipe = Fd::pipe();
  ASSERT_TRUE(pipe.has_value());
  auto stream = Fd::socketpair(AF_UNIX, SOCK_STREAM);
  ASSERT_TRUE(stream.has_value());
  auto dgram = Fd::socketpair(AF_UNIX, SOCK_DGRAM);
  ASSERT_TRUE(dgram.has_value());
  // A descriptor number that is not open (high, so that nothing the test opens takes it).
  int closed = ::fcntl(pipe->first.get(), F_DUPFD_CLOEXEC, 1000);
  ASSERT_GE(closed, 1000);
  ::close(closed);
  std::string self = std::to_string(::getpid());
  struct Case {
    const char* what;
    std::string fd, pid;
    const char* says;
  };
  const Case cases[] = {
      {"a pipe", std::to_string(pipe->first.get()), self, "is not herd's channel"},
      {"a closed descriptor", std::to_string(closed), self, "is not herd's channel"},
      {"a stream socket", std::to_string(stream->first.get()), self, "is not herd's channel"},
      {"a datagram socket", std::to_string(dgram->first.get()), self, "is not herd's channel"},
      {"stdin", "0", self, "malformed"},
      {"letters", "abc", self, "malformed"},
      {"empty", "", self, "malformed"},
      {"trailing text", "5x", self, "malformed"},
      {"negative", "-5", self, "malformed"},
      {"leading space", " 5", self, "malformed"},
      {"too big", "99999999999", self, "malformed"},
      {"pid letters", std::to_string(pipe->first.get()), "12ab", "malformed"},
      {"pid zero", std::to_string(pipe->first.get()), "0", "malformed"},
      {"pid empty", std::to_string(pipe->first.get()), "", "malformed"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    ::testing::internal::CaptureStderr();
    activate(c.fd, c.pid);
    expect_plain_bind();
    expect_plain_bind();
    std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(count_of(err, c.says), 1u) << err;  // said once, when the library starts
  }
  {
    SCOPED_TRACE("no HERD_BIND_PID");
    ::testing::internal::CaptureStderr();
    ::setenv(HERD_BIND_FD_ENV, std::to_string(pipe->first.get()).c_str(), 1);
    ::unsetenv(HERD_BIND_PID_ENV);
    herd_inject_reset_for_test();
    expect_plain_bind();
    std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(count_of(err, "malformed"), 1u) << err;
  }
}

TEST_F(InjectPreload, HerdBindPidOfAnotherProcessMeansPlainBinds) {
  Fd herd_socket = daemon_listener();
  FakeDaemon daemon(give(herd_socket.get()));
  // Another live process (not our parent, so not a shell wrapper that started us).
  int hold[2];
  ASSERT_EQ(::pipe2(hold, O_CLOEXEC), 0);
  pid_t other = ::fork();
  ASSERT_GE(other, 0);
  if (other == 0) {
    ::close(hold[1]);
    char byte;
    ssize_t n = ::read(hold[0], &byte, 1);  // until the parent closes its end
    ::_exit(n < 0 ? 1 : 0);
  }
  ::close(hold[0]);
  ::testing::internal::CaptureStderr();
  activate(std::to_string(daemon.program_end()), std::to_string(other));
  expect_plain_bind();
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(daemon.requests().size(), 0u);
  EXPECT_EQ(err, "");  // an app's child: quietly not ours
  ::close(hold[1]);
  int status = 0;
  ASSERT_EQ(::waitpid(other, &status, 0), other);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST_F(InjectPreload, ADaemonThatHungUpMeansPlainBindsSaidOnce) {
  FakeDaemon daemon([](const herd_bind_request&) { return Reply{}; });
  activate(daemon.program_end());
  daemon.hang_up();
  ::testing::internal::CaptureStderr();
  expect_plain_bind();
  expect_plain_bind();
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(count_of(err, "the channel to herd failed"), 1u) << err;
  EXPECT_EQ(count_of(err, "herd-inject[" + std::to_string(::getpid()) + "]"), 1u) << err;
}

TEST_F(InjectPreload, AnAnswerWithTheWrongMagicMeansPlainBindsFromThenOn) {
  Fd herd_socket = daemon_listener();
  FakeDaemon daemon([&](const herd_bind_request&) {
    Reply r;
    r.magic = 0x0badf00d;
    r.fd = herd_socket.get();  // even with a socket attached
    return r;
  });
  activate(daemon.program_end());
  int fds_before = open_fd_count();
  ::testing::internal::CaptureStderr();
  expect_plain_bind();
  EXPECT_EQ(daemon.requests().size(), 1u);
  expect_plain_bind();  // given up: not asked again
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(daemon.requests().size(), 1u);
  EXPECT_EQ(count_of(err, "the channel to herd failed"), 1u) << err;
  EXPECT_EQ(open_fd_count(), fds_before);  // the attached descriptor was closed
}

TEST_F(InjectPreload, ABindAnswerWithoutASocketMeansPlainBind) {
  FakeDaemon daemon([](const herd_bind_request&) { return Reply{}; });  // error 0, no socket
  activate(daemon.program_end());
  ::testing::internal::CaptureStderr();
  expect_plain_bind();
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(daemon.requests().size(), 1u);
  EXPECT_EQ(count_of(err, "without a socket"), 1u) << err;
}

TEST_F(InjectPreload, AnIpv6BindSendsItsV6only) {
  Fd s(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s.valid()) GTEST_SKIP() << "no IPv6 sockets on this machine";
  int one = 1;
  ASSERT_EQ(::setsockopt(s.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), 0);
  FakeDaemon daemon([](const herd_bind_request&) {
    Reply r;
    r.error = EADDRNOTAVAIL;
    return r;
  });
  activate(daemon.program_end());
  Address a = addr("[::1]:4321");
  EXPECT_EQ(::bind(s.get(), a.data(), a.size()), -1);
  EXPECT_EQ(errno, EADDRNOTAVAIL);
  auto reqs = daemon.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].v6only, 1);
  EXPECT_EQ(reqs[0].addr_len, sizeof(sockaddr_in6));
  EXPECT_EQ(address_of(reqs[0]), a);
}

TEST_F(InjectPreload, ARelativeUnixPathIsSentAbsolute) {
  std::string path = file("app.sock");
  // herd's socket at that path (bound before the library is active, as the daemon would).
  Fd herd_socket(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  Address at = addr(path);
  ASSERT_EQ(::bind(herd_socket.get(), at.data(), at.size()), 0) << std::strerror(errno);
  ASSERT_EQ(::listen(herd_socket.get(), 16), 0);
  FakeDaemon daemon(give(herd_socket.get()));
  chdir_to_dir();
  activate(daemon.program_end());

  Fd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un rel{};
  rel.sun_family = AF_UNIX;
  std::strcpy(rel.sun_path, "app.sock");
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 8);  // no NUL
  ASSERT_EQ(::bind(s.get(), reinterpret_cast<const sockaddr*>(&rel), len), 0)
      << std::strerror(errno);
  auto reqs = daemon.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].op, HERD_BIND_OP_BIND);
  EXPECT_EQ(reqs[0].v6only, -1);
  EXPECT_EQ(path_of(reqs[0]), path);
  EXPECT_EQ(reqs[0].addr_len, offsetof(sockaddr_un, sun_path) + path.size() + 1);
  EXPECT_EQ(id_of(s.get()), id_of(herd_socket.get()));
}

TEST_F(InjectPreload, UnlinkSkipsTheSocketFilesHerdHolds) {
  std::string held = file("held.sock");
  std::string other = file("other.sock");
  std::string regular = file("plain.txt");
  ASSERT_EQ(::mknod(held.c_str(), S_IFSOCK | 0600, 0), 0) << std::strerror(errno);
  ASSERT_EQ(::mknod(other.c_str(), S_IFSOCK | 0600, 0), 0) << std::strerror(errno);
  ASSERT_EQ(::mknod(regular.c_str(), S_IFREG | 0600, 0), 0) << std::strerror(errno);
  FakeDaemon daemon([&](const herd_bind_request& req) {
    Reply r;
    r.error = req.op == HERD_BIND_OP_HELD_PATH && path_of(req) == held ? 0 : ENOENT;
    return r;
  });
  chdir_to_dir();
  activate(daemon.program_end());

  errno = EDOM;
  EXPECT_EQ(::unlink(held.c_str()), 0);
  EXPECT_EQ(errno, EDOM);
  EXPECT_TRUE(exists(held));  // skipped: herd's socket stays reachable
  EXPECT_EQ(::unlinkat(AT_FDCWD, held.c_str(), 0), 0);
  EXPECT_TRUE(exists(held));
  EXPECT_EQ(::unlink("held.sock"), 0);  // relative: asked about as an absolute path
  EXPECT_TRUE(exists(held));
  auto reqs = daemon.requests();
  ASSERT_EQ(reqs.size(), 3u);
  for (const auto& r : reqs) {
    EXPECT_EQ(r.op, HERD_BIND_OP_HELD_PATH);
    EXPECT_EQ(path_of(r), held);
    EXPECT_EQ(r.addr_len, offsetof(sockaddr_un, sun_path) + held.size() + 1);
  }

  EXPECT_EQ(::unlink(other.c_str()), 0);  // not herd's: removed
  EXPECT_FALSE(exists(other));
  EXPECT_EQ(daemon.requests().size(), 4u);

  // Not socket files: nothing asked.
  EXPECT_EQ(::unlink(regular.c_str()), 0);
  EXPECT_FALSE(exists(regular));
  EXPECT_EQ(::unlink(file("missing").c_str()), -1);
  EXPECT_EQ(errno, ENOENT);
  std::string sub = dir() + "/sub";
  ASSERT_EQ(::mkdir(sub.c_str(), 0700), 0);
  EXPECT_EQ(::unlinkat(AT_FDCWD, sub.c_str(), AT_REMOVEDIR), 0);
  EXPECT_FALSE(exists(sub));
  EXPECT_EQ(daemon.requests().size(), 4u);
}

TEST_F(InjectPreload, AChildForkedWithoutExecBindsAsUsual) {
  Fd herd_socket = daemon_listener();
  FakeDaemon daemon(give(herd_socket.get()));
  activate(daemon.program_end());
  std::uint16_t port = free_port();
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Async-signal-safe calls only: the parent has threads. Exit 0 when the bind was the
    // kernel's own (the socket is still the child's, bound to `port`).
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) ::_exit(1);
    sockaddr_in got{};
    socklen_t len = sizeof(got);
    if (::getsockname(s, reinterpret_cast<sockaddr*>(&got), &len) != 0) ::_exit(2);
    ::_exit(got.sin_port == htons(port) ? 0 : 3);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(daemon.requests().size(), 0u);
}

}  // namespace
}  // namespace herd
