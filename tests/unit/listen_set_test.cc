// ListenSet: the sockets herd holds for an app in cluster mode, bound from its `listen` addresses
// or on demand when an instance binds (src/inject/). What a program's bind() gets, and when a
// port is free again.
#include "daemon/cluster_mode/listen_set.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "herd/base/fd.h"
#include "herd/net/address.h"
#include "support/temp_dir.h"

namespace herd::manager {
namespace {

// Whether this machine can bind the IPv6 loopback (containers often cannot).
bool has_ipv6_loopback() {
  Fd fd(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return false;
  sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  sa.sin6_addr = in6addr_loopback;
  return ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) == 0;
}

// A port that is free on every address of both families right now: the kernel picks it for a
// wildcard socket (dual-stack when the machine has IPv6), which is then closed again. Nothing
// connected to it, so it is free at once.
std::uint16_t free_port() {
  bool v6 = has_ipv6_loopback();
  Fd fd(::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  EXPECT_TRUE(fd.valid()) << std::strerror(errno);
  int zero = 0;
  if (v6) ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
  auto any = Address::parse(v6 ? "[::]:0" : "0.0.0.0:0");
  EXPECT_TRUE(any.has_value());
  EXPECT_EQ(::bind(fd.get(), any->data(), any->size()), 0) << std::strerror(errno);
  auto bound = Address::local_of(fd.get());
  EXPECT_TRUE(bound.has_value());
  return bound ? bound->port() : 0;
}

Address addr(const std::string& text) {
  auto a = Address::parse(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a ? *a : Address();
}

Address at(const std::string& host, std::uint16_t port) {
  return addr(host + ":" + std::to_string(port));
}

// Connects a blocking client to `a`; true when the handshake completes (a listener is there).
bool connects(const Address& a) {
  Fd c(::socket(a.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!c) return false;
  return ::connect(c.get(), a.data(), a.size()) == 0;
}

// Whether `a` can be bound by a plain socket of this process right now (no SO_REUSEADDR).
bool bindable(const Address& a) {
  Fd fd(::socket(a.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  return fd && ::bind(fd.get(), a.data(), a.size()) == 0;
}

bool is_listening(int fd) {
  int value = 0;
  socklen_t len = sizeof(value);
  return ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &value, &len) == 0 && value != 0;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

bool is_socket_file(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

using herd::test::TempDir;

TEST(ListenSet, AcquireOfAFreePortBindsAndListens) {
  std::uint16_t port = free_port();
  ASSERT_NE(port, 0);
  Address wanted = at("127.0.0.1", port);
  ListenSet set;
  auto fd = set.acquire(wanted, -1);
  ASSERT_TRUE(fd.has_value()) << fd.error().message();
  EXPECT_TRUE(is_listening(*fd));
  auto local = Address::local_of(*fd);
  ASSERT_TRUE(local.has_value());
  EXPECT_EQ(*local, wanted) << local->to_string();
  EXPECT_TRUE(connects(wanted));
  // Bound on demand: not a `listen` socket, but listed among the addresses.
  EXPECT_FALSE(set.has_static());
  EXPECT_TRUE(set.fds().empty());
  ASSERT_EQ(set.addresses().size(), 1u);
  EXPECT_EQ(set.addresses()[0], wanted);
}

TEST(ListenSet, TheSameAddressAgainGetsTheSameSocket) {
  std::uint16_t port = free_port();
  ASSERT_NE(port, 0);
  ListenSet set;
  auto first = set.acquire(at("127.0.0.1", port), -1);
  ASSERT_TRUE(first.has_value()) << first.error().message();
  auto second = set.acquire(at("127.0.0.1", port), -1);
  ASSERT_TRUE(second.has_value()) << second.error().message();
  EXPECT_EQ(*first, *second);
  EXPECT_EQ(set.addresses().size(), 1u);
}

TEST(ListenSet, AnotherAppAcquiringTheSamePortGetsAddressInUse) {
  std::uint16_t port = free_port();
  ASSERT_NE(port, 0);
  ListenSet app1, app2;
  ASSERT_TRUE(app1.acquire(at("127.0.0.1", port), -1).has_value());
  auto taken = app2.acquire(at("127.0.0.1", port), -1);
  ASSERT_FALSE(taken.has_value());
  EXPECT_EQ(taken.error().code(), EADDRINUSE) << taken.error().message();
  EXPECT_TRUE(app2.addresses().empty());
}

TEST(ListenSet, ASpecificAddressUnderAHeldWildcardIsInUseNotWidened) {
  std::uint16_t port = free_port();
  ASSERT_NE(port, 0);
  ListenSet set;
  auto wildcard = set.acquire(at("0.0.0.0", port), -1);
  ASSERT_TRUE(wildcard.has_value()) << wildcard.error().message();
  // The program asked for one interface: handing it the wildcard would silently serve others.
  auto specific = set.acquire(at("127.0.0.1", port), -1);
  ASSERT_FALSE(specific.has_value());
  EXPECT_EQ(specific.error().code(), EADDRINUSE) << specific.error().message();
  EXPECT_EQ(set.addresses().size(), 1u);
}

TEST(ListenSet, AStaticIpv4WildcardServesAnIpv6WildcardBind) {
  std::uint16_t port = free_port();
  ASSERT_NE(port, 0);
  auto set = ListenSet::bind({"0.0.0.0:" + std::to_string(port)});
  ASSERT_TRUE(set.has_value()) << set.error().message();
  ASSERT_EQ(set->fds().size(), 1u);
  // `listen: [":P"]` and a program (Node) that binds [::]:P mean the same port.
  auto got = set->acquire(at("[::]", port), 0);
  ASSERT_TRUE(got.has_value()) << got.error().message();
  EXPECT_EQ(*got, set->fds()[0]);
  EXPECT_EQ(set->addresses().size(), 1u);
}

TEST(ListenSet, ADualStackIpv6WildcardServesAnIpv4WildcardBind) {
  if (!has_ipv6_loopback()) GTEST_SKIP() << "no IPv6 loopback on this machine";
  std::uint16_t port = free_port();
  ASSERT_NE(port, 0);
  ListenSet set;
  auto v6 = set.acquire(at("[::]", port), 0);
  ASSERT_TRUE(v6.has_value()) << v6.error().message();
  auto v4 = set.acquire(at("0.0.0.0", port), -1);
  ASSERT_TRUE(v4.has_value()) << v4.error().message();
  EXPECT_EQ(*v4, *v6);
  EXPECT_EQ(set.addresses().size(), 1u);
  // And it does take IPv4 connections.
  EXPECT_TRUE(connects(at("127.0.0.1", port)));
}

TEST(ListenSet, AnIpv6OnlyWildcardIsNotGivenForIpv4) {
  if (!has_ipv6_loopback()) GTEST_SKIP() << "no IPv6 loopback on this machine";
  std::uint16_t port = free_port();
  ASSERT_NE(port, 0);
  ListenSet set;
  auto v6 = set.acquire(at("[::]", port), 1);
  ASSERT_TRUE(v6.has_value()) << v6.error().message();
  EXPECT_FALSE(connects(at("127.0.0.1", port)));  // it takes no IPv4 connection
  auto v4 = set.acquire(at("0.0.0.0", port), -1);
  ASSERT_TRUE(v4.has_value()) << v4.error().message();
  EXPECT_NE(*v4, *v6);
  auto local = Address::local_of(*v4);
  ASSERT_TRUE(local.has_value());
  EXPECT_EQ(local->family(), AF_INET);
  EXPECT_EQ(set.addresses().size(), 2u);
  EXPECT_TRUE(connects(at("127.0.0.1", port)));
  // A dual-stack [::]:P is not the IPv6-only one; it gets the IPv4 wildcard herd holds, as a
  // program binding [::]:P gets a `listen: [":P"]` socket.
  auto dual = set.acquire(at("[::]", port), 0);
  ASSERT_TRUE(dual.has_value()) << dual.error().message();
  EXPECT_EQ(*dual, *v4);
  // With the same IPV6_V6ONLY it is the one held.
  auto again = set.acquire(at("[::]", port), 1);
  ASSERT_TRUE(again.has_value()) << again.error().message();
  EXPECT_EQ(*again, *v6);
}

TEST(ListenSet, ReleaseOnDemandFreesThePortsAndKeepsTheListenAddresses) {
  auto set = ListenSet::bind({"127.0.0.1:0"});
  ASSERT_TRUE(set.has_value()) << set.error().message();
  ASSERT_EQ(set->fds().size(), 1u);
  int static_fd = set->fds()[0];
  auto static_addr = Address::local_of(static_fd);
  ASSERT_TRUE(static_addr.has_value());
  EXPECT_NE(static_addr->port(), 0);
  EXPECT_TRUE(set->has_static());
  EXPECT_EQ(set->names(), std::vector<std::string>{"listen0"});

  std::uint16_t port = free_port();
  ASSERT_NE(port, 0);
  Address on_demand = at("127.0.0.1", port);
  auto fd = set->acquire(on_demand, -1);
  ASSERT_TRUE(fd.has_value()) << fd.error().message();
  ASSERT_NE(*fd, static_fd);
  // fds() is what instances get by LISTEN_FDS: only the `listen` sockets. addresses() is all,
  // `listen` ones first.
  EXPECT_EQ(set->fds(), std::vector<int>{static_fd});
  ASSERT_EQ(set->addresses().size(), 2u);
  EXPECT_EQ(set->addresses()[0], *static_addr);
  EXPECT_EQ(set->addresses()[1], on_demand);
  EXPECT_FALSE(bindable(on_demand));

  set->release_on_demand();
  EXPECT_TRUE(bindable(on_demand));  // the port is free again at once
  EXPECT_EQ(set->fds(), std::vector<int>{static_fd});
  ASSERT_EQ(set->addresses().size(), 1u);
  EXPECT_EQ(set->addresses()[0], *static_addr);
  EXPECT_TRUE(is_listening(static_fd));
  EXPECT_TRUE(connects(*static_addr));
  EXPECT_TRUE(set->has_static());

  // Bound again on demand after a release: a fresh socket.
  auto again = set->acquire(on_demand, -1);
  ASSERT_TRUE(again.has_value()) << again.error().message();
  EXPECT_TRUE(connects(on_demand));
}

TEST(ListenSet, AUnixPathGetsASocketFileThatReleaseRemoves) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::string path = dir.file("app.sock");
  Address wanted = addr(path);
  ListenSet set;
  EXPECT_FALSE(set.holds_unix_path(path));
  auto fd = set.acquire(wanted, -1);
  ASSERT_TRUE(fd.has_value()) << fd.error().message();
  EXPECT_TRUE(is_socket_file(path));
  EXPECT_TRUE(set.holds_unix_path(path));
  EXPECT_FALSE(set.holds_unix_path(dir.path() + "/other.sock"));
  EXPECT_TRUE(connects(wanted));
  auto again = set.acquire(wanted, -1);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, *fd);

  set.release_on_demand();
  EXPECT_FALSE(exists(path));
  EXPECT_FALSE(set.holds_unix_path(path));
  EXPECT_TRUE(set.addresses().empty());
}

TEST(ListenSet, DestroyingTheSetRemovesItsSocketFiles) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::string path = dir.file("app.sock");
  {
    ListenSet set;
    ASSERT_TRUE(set.acquire(addr(path), -1).has_value());
    EXPECT_TRUE(is_socket_file(path));
  }
  EXPECT_FALSE(exists(path));
}

TEST(ListenSet, AStaleSocketFileIsReplaced) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::string path = dir.file("app.sock");
  Address wanted = addr(path);
  // A second name keeps the stale file's inode from being reused.
  std::string keep = dir.file("stale-link");
  ino_t stale_inode = 0;
  {
    // A program that died without removing its socket file.
    Fd old(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_EQ(::bind(old.get(), wanted.data(), wanted.size()), 0) << std::strerror(errno);
    ASSERT_EQ(::link(path.c_str(), keep.c_str()), 0) << std::strerror(errno);
    struct stat st {};
    ASSERT_EQ(::lstat(path.c_str(), &st), 0);
    stale_inode = st.st_ino;
  }
  ASSERT_TRUE(is_socket_file(path));
  ASSERT_FALSE(connects(wanted));  // stale: nobody accepts there
  ListenSet set;
  auto fd = set.acquire(wanted, -1);
  ASSERT_TRUE(fd.has_value()) << fd.error().message();
  struct stat st {};
  ASSERT_EQ(::lstat(path.c_str(), &st), 0);
  EXPECT_NE(st.st_ino, stale_inode);  // a new file
  EXPECT_TRUE(connects(wanted));
  EXPECT_TRUE(set.holds_unix_path(path));
}

TEST(ListenSet, ALiveSocketFileIsLeftAlone) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::string path = dir.file("app.sock");
  Address wanted = addr(path);
  // Another program serves there.
  Fd other(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_EQ(::bind(other.get(), wanted.data(), wanted.size()), 0) << std::strerror(errno);
  ASSERT_EQ(::listen(other.get(), 4), 0);
  struct stat before {};
  ASSERT_EQ(::lstat(path.c_str(), &before), 0);
  ListenSet set;
  auto fd = set.acquire(wanted, -1);
  ASSERT_FALSE(fd.has_value());
  EXPECT_EQ(fd.error().code(), EADDRINUSE) << fd.error().message();
  EXPECT_FALSE(set.holds_unix_path(path));
  struct stat after {};
  ASSERT_EQ(::lstat(path.c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_TRUE(connects(wanted));
}

TEST(ListenSet, AFileThatIsNotASocketIsNeverRemoved) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::string path = dir.file("data");
  // A path that names someone's file by mistake: the bind fails as the program's own would, and
  // the file stays (connect() to a non-socket also says ECONNREFUSED, as a stale socket does).
  {
    Fd f(::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
    ASSERT_TRUE(f.valid()) << std::strerror(errno);
    ASSERT_EQ(::write(f.get(), "keep", 4), 4);
  }
  ListenSet set;
  auto fd = set.acquire(addr(path), -1);
  ASSERT_FALSE(fd.has_value());
  EXPECT_EQ(fd.error().code(), EADDRINUSE) << fd.error().message();
  struct stat st {};
  ASSERT_EQ(::lstat(path.c_str(), &st), 0) << "the file was removed";
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_size, 4);
  EXPECT_FALSE(set.holds_unix_path(path));
}

}  // namespace
}  // namespace herd::manager
