#include "herd/base/fd.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

namespace herd {
namespace {

bool is_cloexec(int fd) { return (::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0; }
bool is_nonblock(int fd) { return (::fcntl(fd, F_GETFL) & O_NONBLOCK) != 0; }
bool is_open(int fd) { return ::fcntl(fd, F_GETFD) >= 0; }

TEST(Fd, ClosesOnDestructionAndMoves) {
  int raw;
  {
    auto p = Fd::pipe();
    ASSERT_TRUE(p.has_value());
    raw = p->first.get();
    Fd moved = std::move(p->first);
    EXPECT_FALSE(p->first.valid());
    EXPECT_EQ(moved.get(), raw);
    EXPECT_TRUE(is_open(raw));
  }
  EXPECT_FALSE(is_open(raw));
}

TEST(Fd, ReleaseGivesUpOwnership) {
  auto p = Fd::pipe();
  ASSERT_TRUE(p.has_value());
  int raw = p->first.release();
  EXPECT_FALSE(p->first.valid());
  EXPECT_TRUE(is_open(raw));
  ::close(raw);
}

TEST(Fd, EveryFactorySetsCloexecAndSocketsNonblock) {
  auto sock = Fd::socket(AF_INET, SOCK_STREAM);
  ASSERT_TRUE(sock.has_value());
  EXPECT_TRUE(is_cloexec(sock->get()));
  EXPECT_TRUE(is_nonblock(sock->get()));

  auto pair = Fd::socketpair(AF_UNIX, SOCK_STREAM);
  ASSERT_TRUE(pair.has_value());
  for (int fd : {pair->first.get(), pair->second.get()}) {
    EXPECT_TRUE(is_cloexec(fd));
    EXPECT_TRUE(is_nonblock(fd));
  }

  auto pipe = Fd::pipe();
  ASSERT_TRUE(pipe.has_value());
  EXPECT_TRUE(is_cloexec(pipe->first.get()));
  EXPECT_TRUE(is_cloexec(pipe->second.get()));

  auto file = Fd::open("/dev/null", O_RDONLY);
  ASSERT_TRUE(file.has_value());
  EXPECT_TRUE(is_cloexec(file->get()));

  auto ev = Fd::eventfd();
  ASSERT_TRUE(ev.has_value());
  EXPECT_TRUE(is_cloexec(ev->get()));
  EXPECT_TRUE(is_nonblock(ev->get()));

  auto ep = Fd::epoll();
  ASSERT_TRUE(ep.has_value());
  EXPECT_TRUE(is_cloexec(ep->get()));

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGUSR1);
  auto sfd = Fd::signalfd(mask);
  ASSERT_TRUE(sfd.has_value());
  EXPECT_TRUE(is_cloexec(sfd->get()));
  EXPECT_TRUE(is_nonblock(sfd->get()));

  auto dup = file->dup();
  ASSERT_TRUE(dup.has_value());
  EXPECT_TRUE(is_cloexec(dup->get()));
}

TEST(Fd, OpenFailureNamesThePath) {
  auto f = Fd::open("/nonexistent/herd-test", O_RDONLY);
  ASSERT_FALSE(f.has_value());
  EXPECT_EQ(f.error().code(), ENOENT);
  EXPECT_EQ(f.error().message(), "open /nonexistent/herd-test: No such file or directory");
}

TEST(Fd, SetNonblocking) {
  auto p = Fd::pipe();
  ASSERT_TRUE(p.has_value());
  EXPECT_FALSE(is_nonblock(p->first.get()));
  ASSERT_TRUE(set_nonblocking(p->first.get(), true).has_value());
  EXPECT_TRUE(is_nonblock(p->first.get()));
  ASSERT_TRUE(set_nonblocking(p->first.get(), false).has_value());
  EXPECT_FALSE(is_nonblock(p->first.get()));
  EXPECT_FALSE(set_nonblocking(-1, true).has_value());
}

}  // namespace
}  // namespace herd
