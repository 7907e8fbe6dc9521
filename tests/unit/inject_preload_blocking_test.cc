// herd's bind library (src/inject/blocking_accept.c): the socket herd gives is shared and stays
// non-blocking, while each process sees, and gets from accept(), the blocking choice it made
// itself (fcntl, ioctl(FIONBIO)). The fake daemon and the fixture: inject_preload_util.h.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "herd/base/fd.h"
#include "herd/net/address.h"
#include "inject_preload_util.h"

namespace herd::inject_test {
namespace {

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

}  // namespace
}  // namespace herd::inject_test
