#include "herd/net/address.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cerrno>
#include <string>

#include "herd/base/fd.h"

namespace herd {
namespace {

struct GoodCase {
  const char* text;
  int family;
  std::uint16_t port;
  const char* canonical;  // to_string()
};

const GoodCase kGood[] = {
    {"127.0.0.1:8080", AF_INET, 8080, "127.0.0.1:8080"},
    {"0.0.0.0:80", AF_INET, 80, "0.0.0.0:80"},
    {"10.1.2.3:0", AF_INET, 0, "10.1.2.3:0"},
    {"255.255.255.255:65535", AF_INET, 65535, "255.255.255.255:65535"},
    {"localhost:8080", AF_INET, 8080, "127.0.0.1:8080"},
    {":8080", AF_INET, 8080, "0.0.0.0:8080"},
    {"8080", AF_INET, 8080, "0.0.0.0:8080"},
    {"0", AF_INET, 0, "0.0.0.0:0"},
    {"127.0.0.1:08080", AF_INET, 8080, "127.0.0.1:8080"},
    {"[::1]:8080", AF_INET6, 8080, "[::1]:8080"},
    {"[::]:80", AF_INET6, 80, "[::]:80"},
    {"[2001:db8::1]:443", AF_INET6, 443, "[2001:db8::1]:443"},
    {"[::ffff:127.0.0.1]:1", AF_INET6, 1, "[::ffff:127.0.0.1]:1"},
    {"[2001:DB8:0:0:0:0:0:1]:9", AF_INET6, 9, "[2001:db8::1]:9"},
    {"unix:/run/app.sock", AF_UNIX, 0, "unix:/run/app.sock"},
    {"/tmp/x.sock", AF_UNIX, 0, "unix:/tmp/x.sock"},
    {"./rel.sock", AF_UNIX, 0, "unix:./rel.sock"},
    {"unix:rel.sock", AF_UNIX, 0, "unix:rel.sock"},
    {"unix:@herd-test", AF_UNIX, 0, "unix:@herd-test"},
    {"/with:colon", AF_UNIX, 0, "unix:/with:colon"},
};

TEST(AddressTest, ParsesGoodInputs) {
  for (const GoodCase& c : kGood) {
    SCOPED_TRACE(c.text);
    auto a = Address::parse(c.text);
    ASSERT_TRUE(a.has_value()) << a.error().message();
    EXPECT_EQ(a->family(), c.family);
    EXPECT_EQ(a->port(), c.port);
    EXPECT_EQ(a->to_string(), c.canonical);
    EXPECT_EQ(a->is_unix(), c.family == AF_UNIX);
    // The canonical form parses back to the same address.
    auto again = Address::parse(a->to_string());
    ASSERT_TRUE(again.has_value()) << again.error().message();
    EXPECT_EQ(*again, *a);
  }
}

struct BadCase {
  const char* text;
  const char* why;  // a piece of the message
};

const BadCase kBad[] = {
    {"", "empty address"},
    {"1.2.3.4:99999", "port must be 0..65535"},
    {"1.2.3.4:65536", "port must be 0..65535"},
    {"1.2.3.4:", "missing port"},
    {"1.2.3.4:http", "port \"http\" is not a number"},
    {"1.2.3.4:-1", "is not a number"},
    {"1.2.3.4: 80", "is not a number"},
    {"1.2.3.4", "missing port"},
    {"localhost", "missing port"},
    {"99999", "port must be 0..65535"},
    {"example.com:80", "\"example.com\" is not an IPv4 address"},
    {"1.2.3:80", "is not an IPv4 address"},
    {"1.2.3.256:80", "is not an IPv4 address"},
    {"01.2.3.4:80", "is not an IPv4 address"},
    {"::1:80", "needs brackets"},
    {"[::1]", "missing port"},
    {"[::1]:", "missing port"},
    {"[::1]80", "expected ':'"},
    {"[::1:80", "missing ']'"},
    {"[1.2.3.4]:80", "is not an IPv6 address"},
    {"[fe80::1%eth0]:80", "scope ids"},
    {"[::g]:80", "is not an IPv6 address"},
    {"unix:", "empty Unix socket path"},
    {"unix:@", "empty abstract socket name"},
};

TEST(AddressTest, RejectsBadInputsWithAClearMessage) {
  for (const BadCase& c : kBad) {
    SCOPED_TRACE(c.text);
    auto a = Address::parse(c.text);
    ASSERT_FALSE(a.has_value()) << a->to_string();
    EXPECT_EQ(a.error().code(), EINVAL);
    std::string message = a.error().message();
    EXPECT_NE(message.find(std::string("\"") + c.text + "\""), std::string::npos)
        << "the message quotes the input: " << message;
    EXPECT_NE(message.find(c.why), std::string::npos) << message;
  }
}

TEST(AddressTest, UnixPathLengthLimit) {
  std::string longest = "/" + std::string(106, 'a');  // 107 bytes: the most sun_path holds
  auto ok = Address::parse(longest);
  ASSERT_TRUE(ok.has_value()) << ok.error().message();
  EXPECT_EQ(ok->unix_path(), longest);

  auto too_long = Address::parse(longest + "a");
  ASSERT_FALSE(too_long.has_value());
  EXPECT_EQ(too_long.error().code(), EINVAL);
  EXPECT_NE(too_long.error().message().find("108 bytes, at most 107"), std::string::npos)
      << too_long.error().message();

  auto abstract_too_long = Address::parse("unix:@" + std::string(107, 'b'));
  ASSERT_FALSE(abstract_too_long.has_value());

  auto nul = Address::parse(std::string_view("/a\0b", 4));
  ASSERT_FALSE(nul.has_value());
  EXPECT_NE(nul.error().message().find("NUL"), std::string::npos);
}

TEST(AddressTest, UnixPathAndAbstractName) {
  auto path = Address::parse("unix:/run/x.sock");
  ASSERT_TRUE(path.has_value());
  EXPECT_EQ(path->unix_path(), "/run/x.sock");
  auto abstract = Address::parse("unix:@name");
  ASSERT_TRUE(abstract.has_value());
  EXPECT_EQ(abstract->unix_path(), "");
  EXPECT_NE(*path, *abstract);
  auto ip = Address::parse("127.0.0.1:1");
  ASSERT_TRUE(ip.has_value());
  EXPECT_EQ(ip->unix_path(), "");
}

TEST(AddressTest, EqualityComparesFamilyAddressAndPort) {
  auto a = Address::parse("127.0.0.1:80");
  auto b = Address::parse("localhost:80");
  auto c = Address::parse("127.0.0.1:81");
  auto d = Address::parse("[::1]:80");
  auto e = Address::parse("unix:/a");
  auto f = Address::parse("/a");
  ASSERT_TRUE(a && b && c && d && e && f);
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
  EXPECT_NE(*a, *d);
  EXPECT_EQ(*e, *f);
  EXPECT_NE(*a, *e);
  EXPECT_EQ(a->with_port(81), *c);
  EXPECT_EQ(e->with_port(81), *e);
}

TEST(AddressTest, FromSockaddrAndLocalOf) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(4242);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  Address a = Address::from_sockaddr(reinterpret_cast<const sockaddr*>(&sin), sizeof(sin));
  EXPECT_EQ(a.to_string(), "127.0.0.1:4242");
  EXPECT_EQ(a.size(), sizeof(sin));

  // A socket bound to port 0 gets a port from the kernel; local_of reports it.
  auto sock = Fd::socket(AF_INET, SOCK_STREAM);
  ASSERT_TRUE(sock.has_value());
  Address any = a.with_port(0);
  ASSERT_EQ(::bind(sock->get(), any.data(), any.size()), 0);
  auto local = Address::local_of(sock->get());
  ASSERT_TRUE(local.has_value()) << local.error().message();
  EXPECT_EQ(local->family(), AF_INET);
  EXPECT_NE(local->port(), 0);
  EXPECT_EQ(*local, any.with_port(local->port()));

  // Not connected: peer_of fails with the kernel's reason.
  auto peer = Address::peer_of(sock->get());
  ASSERT_FALSE(peer.has_value());
  EXPECT_EQ(peer.error().code(), ENOTCONN);

  auto bad = Address::local_of(-1);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), EBADF);
}

TEST(AddressTest, UnnamedUnixSocket) {
  auto pair = Fd::socketpair(AF_UNIX, SOCK_STREAM);
  ASSERT_TRUE(pair.has_value());
  auto local = Address::local_of(pair->first.get());
  ASSERT_TRUE(local.has_value());
  EXPECT_TRUE(local->is_unix());
  EXPECT_EQ(local->to_string(), "unix:");
  EXPECT_EQ(local->unix_path(), "");
}

}  // namespace
}  // namespace herd
