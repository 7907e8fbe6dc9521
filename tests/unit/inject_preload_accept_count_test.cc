// herd's bind library counts the connections accept()/accept4() return on the sockets herd gave
// it, in the page herd passes at HERD_ACCEPT_FD (bind_protocol.h); nothing else, and only a page
// that is herd's. The fake daemon and the fixture: inject_preload_util.h.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "herd/base/fd.h"
#include "herd/net/address.h"
#include "inject_preload_util.h"

namespace herd::inject_test {
namespace {

// herd's side of the counter: a memfd page with the magic (or `magic`), mapped here to read it.
struct CounterPage {
  explicit CounterPage(std::uint64_t magic = HERD_ACCEPT_MAGIC) {
    fd.reset(::memfd_create("test-accepts", MFD_CLOEXEC));
    EXPECT_TRUE(fd.valid());
    EXPECT_EQ(::ftruncate(fd.get(), HERD_ACCEPT_PAGE_SIZE), 0);
    void* p =
        ::mmap(nullptr, HERD_ACCEPT_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
    EXPECT_NE(p, MAP_FAILED);
    page = static_cast<herd_accept_page*>(p);
    page->magic = magic;
    ::setenv(HERD_ACCEPT_FD_ENV, std::to_string(fd.get()).c_str(), 1);
  }
  ~CounterPage() {
    ::unsetenv(HERD_ACCEPT_FD_ENV);
    ::munmap(page, HERD_ACCEPT_PAGE_SIZE);
  }
  std::uint64_t count() const { return __atomic_load_n(&page->accepted, __ATOMIC_RELAXED); }
  Fd fd;
  herd_accept_page* page = nullptr;
};

void connect_to(const Address& a, Fd* client) {
  client->reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_EQ(::connect(client->get(), a.data(), a.size()), 0) << std::strerror(errno);
}

TEST_F(InjectPreload, CountsAcceptsOnHerdsSocketsOnly) {
  CounterPage counter;
  Fd herd_socket = daemon_listener();
  FakeDaemon daemon(give(herd_socket.get()));
  activate(daemon.program_end());
  Address wanted = loopback(port_of(herd_socket.get()));

  // A non-blocking program (an event loop) and its accept4.
  Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  ASSERT_EQ(::bind(s.get(), wanted.data(), wanted.size()), 0) << std::strerror(errno);
  EXPECT_EQ(::accept4(s.get(), nullptr, nullptr, SOCK_CLOEXEC), -1);  // EAGAIN: not counted
  EXPECT_EQ(counter.count(), 0u);
  Fd c1, c2;
  connect_to(wanted, &c1);
  connect_to(wanted, &c2);
  for (int got = 0; got < 2;) {
    int c = ::accept4(s.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (c >= 0) {
      ::close(c);
      ++got;
    } else {
      ASSERT_EQ(errno, EAGAIN);
      pollfd p{s.get(), POLLIN, 0};
      ASSERT_GE(::poll(&p, 1, 10000), 0);
    }
  }
  EXPECT_EQ(counter.count(), 2u);

  // A blocking accept() on it counts too.
  ASSERT_EQ(::fcntl(s.get(), F_SETFL, 0), 0);
  Fd c3;
  connect_to(wanted, &c3);
  int c = ::accept(s.get(), nullptr, nullptr);
  ASSERT_GE(c, 0) << std::strerror(errno);
  ::close(c);
  EXPECT_EQ(counter.count(), 3u);

  // A listening socket of the program's own (port 0 is never herd's) is not counted.
  Fd own(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  Address any = loopback(0);
  ASSERT_EQ(::bind(own.get(), any.data(), any.size()), 0);
  ASSERT_EQ(::listen(own.get(), 4), 0);
  Fd c4;
  connect_to(loopback(port_of(own.get())), &c4);
  c = ::accept(own.get(), nullptr, nullptr);
  ASSERT_GE(c, 0);
  ::close(c);
  EXPECT_EQ(counter.count(), 3u);
}

TEST_F(InjectPreload, APageThatIsNotHerdsIsLeftAlone) {
  CounterPage counter(/*magic=*/12345);
  Fd herd_socket = daemon_listener();
  FakeDaemon daemon(give(herd_socket.get()));
  activate(daemon.program_end());
  Address wanted = loopback(port_of(herd_socket.get()));
  Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_EQ(::bind(s.get(), wanted.data(), wanted.size()), 0) << std::strerror(errno);
  Fd c1;
  connect_to(wanted, &c1);
  int c = ::accept(s.get(), nullptr, nullptr);
  ASSERT_GE(c, 0) << std::strerror(errno);
  ::close(c);
  EXPECT_EQ(counter.count(), 0u);
  EXPECT_EQ(counter.page->magic, 12345u);
}

}  // namespace
}  // namespace herd::inject_test
