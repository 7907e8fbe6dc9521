// herd's bind library (src/inject/bind_preload.c and blocking_accept.c), compiled into this test
// binary with HERD_INJECT_TESTING: its bind(), listen(), unlink(), unlinkat(), fcntl(), ioctl()
// and accept() are this binary's own and stand in front of libc's for every call the binary
// makes, as LD_PRELOAD puts them in front in an injected program. A fake daemon (a thread on the
// other end of a SEQPACKET pair, inject_preload_util.h) answers the requests and records them;
// the test sets HERD_BIND_FD / HERD_BIND_PID and re-reads them with herd_inject_reset_for_test().
// Each test leaves the library inactive again.
//
// This file: bind() and listen() of TCP sockets, and everything that makes the calls plain ones.
// Unix paths and unlink(): inject_preload_unix_test.cc; the blocking wish:
// inject_preload_blocking_test.cc.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "herd/base/fd.h"
#include "herd/net/address.h"
#include "inject_preload_util.h"

namespace herd::inject_test {
namespace {

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
}  // namespace herd::inject_test
