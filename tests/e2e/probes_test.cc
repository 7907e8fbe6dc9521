// Probes for orchestrators on the daemon's metrics listener: GET /healthz (the daemon answers)
// and GET /readyz (every instance that should be online is), and --metrics-addr /
// HERD_METRICS_ADDR, the listener's address: loopback unless another one is asked for, and a bad
// one refused before anything starts.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "e2e/herd_fixture.h"

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// One exchange with ip:port; everything the server sent until it closed, or "" when the
// connection failed (`connect_errno` gets its errno).
std::string http(const std::string& ip, int port, const std::string& request,
                 int* connect_errno = nullptr) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {};
  timeval tv{20, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof(buf), 0)) > 0;) {
      out.append(buf, static_cast<std::size_t>(n));
    }
  } else if (connect_errno != nullptr) {
    *connect_errno = errno;
  }
  ::close(fd);
  return out;
}

std::string get(int port, const std::string& path, const std::string& ip = "127.0.0.1") {
  return http(ip, port, "GET " + path + " HTTP/1.1\r\nHost: herd\r\n\r\n");
}

std::string body_of(const std::string& reply) {
  auto end = reply.find("\r\n\r\n");
  return end == std::string::npos ? std::string() : reply.substr(end + 4);
}

// An IPv4 address of this machine that is not loopback ("" when it has none).
std::string non_loopback_ipv4() {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return {};
  std::string found;
  for (ifaddrs* i = list; i != nullptr && found.empty(); i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    auto* in = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
    if ((ntohl(in->sin_addr.s_addr) >> 24) == 127) continue;
    char text[INET_ADDRSTRLEN];
    if (::inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text)) != nullptr) found = text;
  }
  ::freeifaddrs(list);
  return found;
}

class ProbesTest : public HerdTest {
 protected:
  // What `herd ping` says the listener is on ("127.0.0.1:9209"); "" when it names none.
  std::string listener_address() {
    CommandResult r = herd({"ping"});
    EXPECT_EQ(r.exit_code, 0) << r;
    const std::string marker = "metrics on http://";
    auto at = r.out.find(marker);
    if (at == std::string::npos) return {};
    at += marker.size();
    return r.out.substr(at, r.out.find("/metrics", at) - at);
  }
  static int port_of(const std::string& address) {
    return std::atoi(address.c_str() + address.rfind(':') + 1);
  }
  // Polls GET /readyz until its status line starts with `status` ("HTTP/1.1 503"); the last
  // reply goes to `last`.
  bool wait_readyz(int port, const std::string& status, std::string* last) {
    return wait_for([&] {
      *last = get(port, "/readyz");
      return last->rfind(status, 0) == 0;
    });
  }
};

TEST_F(ProbesTest, HealthzAndReadyzFollowTheApps) {
  CommandResult r = herd({"ping"}, {{"HERD_METRICS_PORT", "0"}});
  ASSERT_EQ(r.exit_code, 0) << r;
  std::string address = listener_address();
  ASSERT_THAT(address, StartsWith("127.0.0.1:")) << "the default address is loopback";
  int port = port_of(address);
  ASSERT_GT(port, 0);

  std::string reply = get(port, "/healthz");
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_EQ(body_of(reply), "ok\n");
  // No app: ready.
  reply = get(port, "/readyz");
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_EQ(body_of(reply), "ok\n");
  reply = http("127.0.0.1", port, "HEAD /readyz HTTP/1.1\r\n\r\n");
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_EQ(body_of(reply), "");
  // Unknown paths answer as before.
  EXPECT_THAT(get(port, "/"), StartsWith("HTTP/1.1 404 "));

  r = herd({"start", write_script("steady", "exec sleep 1000\n"), "--min-uptime", "100"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(get(port, "/readyz"), StartsWith("HTTP/1.1 200 OK\r\n"));

  // An instance still launching (wait_ready, never ready): not ready, and named.
  auto slow = herd_background({"start", write_script("slow", "exec sleep 1000\n"), "--wait-ready",
                               "--listen-timeout", "60000"});
  ASSERT_TRUE(wait_readyz(port, "HTTP/1.1 503 Service Unavailable\r\n", &reply)) << reply;
  EXPECT_EQ(body_of(reply), "not ready: slow 1 launching\n");
  EXPECT_THAT(http("127.0.0.1", port, "HEAD /readyz HTTP/1.0\r\n\r\n"), StartsWith("HTTP/1.1 503"));
  EXPECT_THAT(get(port, "/healthz"), StartsWith("HTTP/1.1 200 OK\r\n"));  // the daemon is alive
  // Stopped by a person: it no longer counts.
  ASSERT_EQ(herd({"stop", "slow"}).exit_code, 0);
  ASSERT_TRUE(slow->wait_exit(kWaitTimeout));
  ASSERT_TRUE(wait_readyz(port, "HTTP/1.1 200 OK\r\n", &reply)) << reply;

  // An app that keeps crashing (waiting restart, launching, then errored): not ready.
  r = herd({"start", write_script("crashy", "exit 3\n"), "--min-uptime", "100", "--restart-delay",
            "100", "--max-restarts", "3"});
  ASSERT_TRUE(wait_readyz(port, "HTTP/1.1 503 ", &reply)) << reply;
  EXPECT_THAT(body_of(reply), StartsWith("not ready: crashy 2 "));
  ASSERT_TRUE(wait_status("crashy", "errored"));
  EXPECT_EQ(body_of(get(port, "/readyz")), "not ready: crashy 2 errored\n");
  ASSERT_EQ(herd({"stop", "crashy"}).exit_code, 0);
  EXPECT_THAT(get(port, "/readyz"), StartsWith("HTTP/1.1 200 OK\r\n"));

  // Loopback only by default: another address of this machine is refused.
  if (std::string other = non_loopback_ipv4(); !other.empty()) {
    int error = 0;
    EXPECT_EQ(get(port, "/healthz", other), "");
    http(other, port, "GET /healthz HTTP/1.1\r\n\r\n", &error);
    EXPECT_EQ(error, ECONNREFUSED) << other;
  }
}

TEST_F(ProbesTest, MetricsAddrBindsWhereAsked) {
  auto daemon = herd_background(
      {"daemon", "--foreground", "--metrics-port", "0", "--metrics-addr", "0.0.0.0"});
  std::string address;
  ASSERT_TRUE(wait_for([&] {
    if (!file_exists(path("herd.sock"))) return false;
    address = listener_address();
    return !address.empty();
  }));
  ASSERT_THAT(address, StartsWith("0.0.0.0:"));
  int port = port_of(address);
  EXPECT_EQ(body_of(get(port, "/healthz")), "ok\n");
  if (std::string other = non_loopback_ipv4(); !other.empty()) {
    EXPECT_EQ(body_of(get(port, "/healthz", other)), "ok\n") << "through " << other;
    EXPECT_THAT(get(port, "/readyz", other), StartsWith("HTTP/1.1 200 OK\r\n"));
  }
  // `herd update` hands the same address and port to the daemon that replaces this one.
  CommandResult r = herd({"update"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(listener_address(), address);
  EXPECT_EQ(body_of(get(port, "/healthz")), "ok\n");
  ASSERT_EQ(herd({"kill"}).exit_code, 0);
  EXPECT_TRUE(daemon->wait_exit(kWaitTimeout));
  EXPECT_EQ(daemon->result().exit_code, 0) << daemon->result();

  // The environment, as the first command that starts the daemon passes it on.
  r = herd({"ping"}, {{"HERD_METRICS_PORT", "0"}, {"HERD_METRICS_ADDR", "localhost"}});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(listener_address(), StartsWith("127.0.0.1:"));
}

TEST_F(ProbesTest, BadMetricsAddressesStopEverythingBeforeItStarts) {
  CommandResult r = herd({"daemon", "--metrics-port", "0", "--metrics-addr", "example.com"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("--metrics-addr takes an IP address such as 127.0.0.1, 0.0.0.0, "
                               "::1 or ::, not 'example.com'"));
  r = herd({"daemon", "--metrics-addr=0.0.0.0"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("the metrics address 0.0.0.0 needs a port: --metrics-port or "
                               "HERD_METRICS_PORT"));
  r = herd({"daemon", "--metrics-addr"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("--metrics-addr takes a value"));
  r = herd({"ping"}, {{"HERD_METRICS_PORT", "0"}, {"HERD_METRICS_ADDR", "10.0.0.300"}});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("HERD_METRICS_ADDR takes an IP address"));
  r = herd({"ping"}, {{"HERD_METRICS_ADDR", "0.0.0.0"}});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("HERD_METRICS_ADDR is set without HERD_METRICS_PORT"));
  EXPECT_FALSE(file_exists(path("herd.pid"))) << "a daemon started anyway";
  EXPECT_FALSE(file_exists(path("herd.sock"))) << "a daemon started anyway";
}

}  // namespace
}  // namespace herd::e2e
