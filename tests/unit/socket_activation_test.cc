// Socket activation (LISTEN_FDS) and sd_notify, checked the way a real service manager would
// drive them: the test binary re-runs itself with descriptors at 3, 4, ... and the variables set,
// LISTEN_PID written in the child after fork (as systemd does), and compares with libsystemd.
#include "herd/net/socket_activation.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "herd/loop/event_loop.h"
#include "herd/net/address.h"
#include "herd/net/listener.h"
#include "support/child_process.h"
#include "support/wait.h"
#include "unit/activation_spawn.h"

extern char** environ;

namespace herd {
namespace {

// A blocking listening socket bound to `text` ("127.0.0.1:0", "unix:/tmp/..."), as a service
// manager would create it.
Fd bound_listener(const std::string& text) {
  auto address = Address::parse(text);
  EXPECT_TRUE(address.has_value());
  if (!address) return Fd();
  Fd fd(::socket(address->family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  EXPECT_EQ(::bind(fd.get(), address->data(), address->size()), 0) << std::strerror(errno);
  EXPECT_EQ(::listen(fd.get(), 16), 0) << std::strerror(errno);
  return fd;
}

std::string local_of(const Fd& fd) {
  auto a = Address::local_of(fd.get());
  return a ? a->to_string() : "?";
}

// ---------------------------------------------------------------------------------------------
// Child roles. Each prints one line per fact; the parent looks for exact lines.

// argv[1..]: "name=<name>" or "addr=<address>" requests, tried in order. Prints the descriptors'
// CLOEXEC state before and after the first look, every inherited socket, and each take's result.
bool report_role = test::register_role("activation_report", [](int argc, char** argv) {
  // Descriptor 3 always (it is passed in every case), and as many as LISTEN_FDS claims, up to 8.
  long claimed = 1;
  if (const char* n = std::getenv("LISTEN_FDS")) claimed = std::strtol(n, nullptr, 10);
  int limit = 3 + static_cast<int>(std::clamp(claimed, 1L, 8L));
  for (int fd = 3; fd < limit; ++fd) {
    if (::fcntl(fd, F_GETFD) >= 0) std::printf("before fd=%d cloexec=%d\n", fd, cloexec(fd));
  }
  const auto& sockets = inherited_sockets();
  std::printf("count=%zu\n", sockets.size());
  for (const auto& s : sockets) {
    std::printf("socket fd=%d name=%s cloexec=%d\n", s.fd, s.name.c_str(), cloexec(s.fd));
  }
  for (int i = 1; i < argc; ++i) {
    std::string request = argv[i];
    std::optional<Fd> got;
    if (request.starts_with("name=")) {
      auto any = Address::parse("127.0.0.1:0");
      got = take_inherited_socket(*any, request.substr(5));
    } else if (request.starts_with("addr=")) {
      auto address = Address::parse(request.substr(5));
      if (!address) {
        std::printf("bad request %s\n", request.c_str());
        return 2;
      }
      got = take_inherited_socket(*address);
    }
    if (got) {
      std::printf("take %s -> fd=%d local=%s\n", request.c_str(), got->get(),
                  local_of(*got).c_str());
      (void)got->release();  // the registry's copy of the number stays meaningful for the report
    } else {
      std::printf("take %s -> none\n", request.c_str());
    }
  }
  std::fflush(stdout);
  return 0;
});

// Adopts the socket for argv[1] into a Listener and serves the connection that the parent queued
// before this process existed: the kernel keeps it waiting, none is refused.
bool accept_role = test::register_role("activation_accept", [](int argc, char** argv) {
  if (argc < 2) return 2;
  auto address = Address::parse(argv[1]);
  if (!address) return 2;
  auto fd = take_inherited_socket(*address);
  if (!fd) {
    std::printf("no socket\n");
    return 3;
  }
  EventLoop loop;
  Listener listener(loop);
  Fd connection;
  auto adopted = listener.adopt(std::move(*fd), [&](Fd c) { connection = std::move(c); });
  if (!adopted) {
    std::printf("adopt failed: %s\n", adopted.error().message().c_str());
    return 4;
  }
  bool ok = test::run_until(loop, [&] { return connection.valid(); });
  if (ok) {
    ssize_t n = ::send(connection.get(), "hi", 2, MSG_NOSIGNAL);
    std::printf("accepted sent=%zd\n", n);
  }
  listener.close();
  loop.run(RunMode::kNoWait);
  std::fflush(stdout);
  return ok ? 0 : 5;
});

// libsystemd's view of the same environment, for the cross-check. sd_listen_fds_with_names
// marks the descriptors CLOEXEC too, so herd's answer is asked first.
bool compare_role = test::register_role("activation_compare", [](int, char**) {
  const auto& sockets = inherited_sockets();
  std::string herd_names;
  for (const auto& s : sockets) herd_names += s.name + ",";
  std::printf("herd count=%zu names=%s\n", sockets.size(), herd_names.c_str());
  int n = ::sd_listen_fds(0);
  std::printf("libsystemd count=%d\n", n < 0 ? 0 : n);
  std::fflush(stdout);
  return 0;
});

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

// ---------------------------------------------------------------------------------------------
// LISTEN_FDS

TEST(SocketActivation, FindsSocketsByNameAndByAddress) {
  TempDir dir;
  std::string path = dir.file("admin.sock");
  Fd web = bound_listener("127.0.0.1:0");
  Fd admin = bound_listener("unix:" + path);
  std::string web_addr = local_of(web);
  auto r = spawn_activated("activation_report", {"LISTEN_FDS=2", "LISTEN_FDNAMES=web:admin"},
                           {web.get(), admin.get()}, ListenPid::kChild,
                           {"name=admin", "addr=" + web_addr});
  ASSERT_TRUE(r.exited) << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(has_line(r.out, "count=2")) << r.out;
  EXPECT_TRUE(has_line(r.out, "socket fd=3 name=web cloexec=1")) << r.out;
  EXPECT_TRUE(has_line(r.out, "socket fd=4 name=admin cloexec=1")) << r.out;
  EXPECT_TRUE(has_line(r.out, "take name=admin -> fd=4 local=unix:" + path)) << r.out;
  EXPECT_TRUE(has_line(r.out, "take addr=" + web_addr + " -> fd=3 local=" + web_addr)) << r.out;
}

TEST(SocketActivation, MatchesAUnixSocketByPath) {
  TempDir dir;
  std::string path = dir.file("app.sock");
  Fd s = bound_listener("unix:" + path);
  auto r = spawn_activated("activation_report", {"LISTEN_FDS=1"}, {s.get()}, ListenPid::kChild,
                           {"addr=unix:" + dir.path() + "/other.sock", "addr=unix:" + path});
  ASSERT_TRUE(r.exited) << r.err;
  EXPECT_TRUE(has_line(r.out, "socket fd=3 name= cloexec=1")) << r.out;
  EXPECT_TRUE(has_line(r.out, "take addr=unix:" + dir.path() + "/other.sock -> none")) << r.out;
  EXPECT_TRUE(has_line(r.out, "take addr=unix:" + path + " -> fd=3 local=unix:" + path)) << r.out;
}

TEST(SocketActivation, PortZeroMatchesAnyPortOfAMatchingHost) {
  Fd s = bound_listener("127.0.0.1:0");
  std::string bound = local_of(s);
  auto r = spawn_activated("activation_report", {"LISTEN_FDS=1"}, {s.get()}, ListenPid::kChild,
                           {"addr=127.0.0.2:0", "addr=[::1]:0", "addr=127.0.0.1:1",
                            "addr=127.0.0.1:0", "addr=127.0.0.1:0"});
  ASSERT_TRUE(r.exited) << r.err;
  // Another host, another family, another port: no match.
  EXPECT_TRUE(has_line(r.out, "take addr=127.0.0.2:0 -> none")) << r.out;
  EXPECT_TRUE(has_line(r.out, "take addr=[::1]:0 -> none")) << r.out;
  EXPECT_TRUE(has_line(r.out, "take addr=127.0.0.1:1 -> none")) << r.out;
  // The wildcard port matches, and a socket is handed out only once.
  EXPECT_NE(r.out.find("take addr=127.0.0.1:0 -> fd=3 local=" + bound + "\n"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("take addr=127.0.0.1:0 -> none"), std::string::npos) << r.out;
}

TEST(SocketActivation, NameGivenMatchesByNameOnly) {
  Fd s = bound_listener("127.0.0.1:0");
  auto r = spawn_activated("activation_report", {"LISTEN_FDS=1", "LISTEN_FDNAMES=web"}, {s.get()},
                           ListenPid::kChild, {"name=admin", "name=web", "name=web"});
  ASSERT_TRUE(r.exited) << r.err;
  EXPECT_TRUE(has_line(r.out, "take name=admin -> none")) << r.out;
  EXPECT_NE(r.out.find("take name=web -> fd=3"), std::string::npos) << r.out;
  EXPECT_TRUE(has_line(r.out, "take name=web -> none")) << r.out;  // taken at most once
}

TEST(SocketActivation, CloexecIsSetOnlyOnAdoption) {
  Fd s = bound_listener("127.0.0.1:0");
  auto r = spawn_activated("activation_report", {"LISTEN_FDS=1"}, {s.get()}, ListenPid::kChild);
  ASSERT_TRUE(r.exited) << r.err;
  // The child got the socket inheritable, as a service manager passes it, and libherd marked it
  // CLOEXEC so that it goes no further.
  EXPECT_TRUE(has_line(r.out, "before fd=3 cloexec=0")) << r.out;
  EXPECT_TRUE(has_line(r.out, "socket fd=3 name= cloexec=1")) << r.out;
}

TEST(SocketActivation, ListenPidOfAnotherProcessIsIgnored) {
  Fd s = bound_listener("127.0.0.1:0");
  // The variables leaked from an activated parent (this test process) are not for the child.
  auto r = spawn_activated(
      "activation_report",
      {"LISTEN_FDS=1", "LISTEN_PID=" + std::to_string(::getpid()), "HERD_LOG_LEVEL=debug"},
      {s.get()}, ListenPid::kNone, {"addr=127.0.0.1:0"});
  ASSERT_TRUE(r.exited) << r.err;
  EXPECT_TRUE(has_line(r.out, "count=0")) << r.out;
  EXPECT_TRUE(has_line(r.out, "take addr=127.0.0.1:0 -> none")) << r.out;
  // Not ours, so not touched: the descriptor keeps its flags.
  EXPECT_TRUE(has_line(r.out, "before fd=3 cloexec=0")) << r.out;
  EXPECT_NE(r.err.find("is not this process"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("warn"), std::string::npos) << r.err;  // a debug line, not a warning
}

TEST(SocketActivation, NoVariablesMeansNoSocketsAndNoNoise) {
  Fd s = bound_listener("127.0.0.1:0");
  auto r = spawn_activated("activation_report", {}, {s.get()}, ListenPid::kNone);
  ASSERT_TRUE(r.exited) << r.err;
  EXPECT_TRUE(has_line(r.out, "count=0")) << r.out;
  EXPECT_EQ(r.err, "");
}

struct MalformedCase {
  const char* what;
  std::vector<std::string> env;
  ListenPid pid;
  const char* log_mentions;
};

TEST(SocketActivation, MalformedValuesAreIgnoredWithALogLine) {
  const MalformedCase cases[] = {
      {"letters", {"LISTEN_FDS=abc"}, ListenPid::kChild, "LISTEN_FDS=abc"},
      {"negative", {"LISTEN_FDS=-1"}, ListenPid::kChild, "LISTEN_FDS=-1"},
      {"zero", {"LISTEN_FDS=0"}, ListenPid::kChild, "LISTEN_FDS=0"},
      {"trailing text", {"LISTEN_FDS=1x"}, ListenPid::kChild, "LISTEN_FDS=1x"},
      {"leading space", {"LISTEN_FDS= 1"}, ListenPid::kChild, "LISTEN_FDS= 1"},
      {"empty", {"LISTEN_FDS="}, ListenPid::kChild, "LISTEN_FDS="},
      {"overflow", {"LISTEN_FDS=99999999999"}, ListenPid::kChild, "LISTEN_FDS=99999999999"},
      {"beyond the descriptors", {"LISTEN_FDS=2"}, ListenPid::kChild, "descriptor 4 is not open"},
      {"pid not a number",
       {"LISTEN_FDS=1", "LISTEN_PID=12ab"},
       ListenPid::kNone,
       "LISTEN_PID=12ab"},
      {"pid zero", {"LISTEN_FDS=1", "LISTEN_PID=0"}, ListenPid::kNone, "LISTEN_PID=0"},
      {"fds without pid", {"LISTEN_FDS=1"}, ListenPid::kNone, "without LISTEN_PID"},
      {"pid without fds", {}, ListenPid::kChild, "LISTEN_FDS is not"},
  };
  Fd s = bound_listener("127.0.0.1:0");
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    auto r = spawn_activated("activation_report", c.env, {s.get()}, c.pid, {"addr=127.0.0.1:0"});
    ASSERT_TRUE(r.exited) << r.err;
    EXPECT_TRUE(has_line(r.out, "count=0")) << r.out;
    EXPECT_TRUE(has_line(r.out, "take addr=127.0.0.1:0 -> none")) << r.out;
    EXPECT_TRUE(has_line(r.out, "before fd=3 cloexec=0")) << r.out;
    EXPECT_NE(r.err.find("warn: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(c.log_mentions), std::string::npos) << r.err;
    // Logged once, however often the sockets are asked for.
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
  }
}

TEST(SocketActivation, NamesThatDoNotMatchTheCountAreDroppedWithALogLine) {
  Fd a = bound_listener("127.0.0.1:0");
  Fd b = bound_listener("127.0.0.1:0");
  auto r = spawn_activated("activation_report", {"LISTEN_FDS=2", "LISTEN_FDNAMES=only-one"},
                           {a.get(), b.get()}, ListenPid::kChild, {"name=only-one"});
  ASSERT_TRUE(r.exited) << r.err;
  EXPECT_TRUE(has_line(r.out, "socket fd=3 name= cloexec=1")) << r.out;
  EXPECT_TRUE(has_line(r.out, "socket fd=4 name= cloexec=1")) << r.out;
  EXPECT_TRUE(has_line(r.out, "take name=only-one -> none")) << r.out;
  EXPECT_NE(r.err.find("LISTEN_FDNAMES=only-one"), std::string::npos) << r.err;
}

TEST(SocketActivation, AdoptedSocketAcceptsTheConnectionQueuedBeforeTheProcessStarted) {
  Fd s = bound_listener("127.0.0.1:0");
  auto address = Address::local_of(s.get());
  ASSERT_TRUE(address.has_value());
  // Connect before the server exists: the handshake completes against the kernel's queue.
  Fd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_EQ(::connect(client.get(), address->data(), address->size()), 0) << std::strerror(errno);
  auto r = spawn_activated("activation_accept", {"LISTEN_FDS=1"}, {s.get()}, ListenPid::kChild,
                           {"127.0.0.1:0"});
  ASSERT_TRUE(r.exited) << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(has_line(r.out, "accepted sent=2")) << r.out;
  char buf[8] = {};
  EXPECT_EQ(::recv(client.get(), buf, sizeof(buf), 0), 2);
  EXPECT_STREQ(buf, "hi");
}

TEST(SocketActivation, AgreesWithLibsystemdOnWhatWasPassed) {
  struct Case {
    const char* what;
    std::vector<std::string> env;
    ListenPid pid;
  };
  const Case cases[] = {
      {"two named", {"LISTEN_FDS=2", "LISTEN_FDNAMES=a:b"}, ListenPid::kChild},
      {"one unnamed", {"LISTEN_FDS=1"}, ListenPid::kChild},
      {"another pid", {"LISTEN_FDS=2", "LISTEN_PID=1"}, ListenPid::kNone},
      {"malformed count", {"LISTEN_FDS=two"}, ListenPid::kChild},
      {"zero", {"LISTEN_FDS=0"}, ListenPid::kChild},
      {"nothing", {}, ListenPid::kNone},
  };
  Fd a = bound_listener("127.0.0.1:0");
  Fd b = bound_listener("127.0.0.1:0");
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    auto r = spawn_activated("activation_compare", c.env, {a.get(), b.get()}, c.pid);
    ASSERT_TRUE(r.exited) << r.err;
    auto herd_at = r.out.find("herd count=");
    auto sd_at = r.out.find("libsystemd count=");
    ASSERT_NE(herd_at, std::string::npos) << r.out;
    ASSERT_NE(sd_at, std::string::npos) << r.out;
    std::string herd_count =
        r.out.substr(herd_at + 11, r.out.find(' ', herd_at + 11) - herd_at - 11);
    std::string sd_count = r.out.substr(sd_at + 17, r.out.find('\n', sd_at) - sd_at - 17);
    EXPECT_EQ(herd_count, sd_count) << r.out;
  }
}

// ---------------------------------------------------------------------------------------------
// Matching by port: wildcards of either family cover any host

// Whether this machine can bind IPv6 sockets at all (containers often cannot).
bool has_ipv6() {
  Fd fd(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return false;
  auto any = Address::parse("[::1]:0");
  return any && ::bind(fd.get(), any->data(), any->size()) == 0;
}

std::string port_text(const Fd& fd) {
  auto a = Address::local_of(fd.get());
  return a ? std::to_string(a->port()) : "?";
}

// argv[1]: the fallback. Prints default_listen_address(fallback); with argv[2], takes the socket
// for that address and prints it again.
bool default_role = test::register_role("activation_default", [](int argc, char** argv) {
  if (argc < 2) return 2;
  auto fallback = Address::parse(argv[1]);
  if (!fallback) return 2;
  std::printf("default=%s\n", default_listen_address(*fallback).to_string().c_str());
  if (argc > 2) {
    auto wanted = Address::parse(argv[2]);
    if (!wanted) return 2;
    auto got = take_inherited_socket(*wanted);
    std::printf("took=%d\n", got ? got->get() : -1);
    if (got) (void)got->release();
    std::printf("default=%s\n", default_listen_address(*fallback).to_string().c_str());
  }
  std::fflush(stdout);
  return 0;
});

TEST(SocketActivation, AWildcardRequestTakesTheLoopbackSocketOfItsPort) {
  Fd s = bound_listener("127.0.0.1:0");
  std::string bound = local_of(s);
  std::string port = port_text(s);
  auto r = spawn_activated("activation_report", {"LISTEN_FDS=1"}, {s.get()}, ListenPid::kChild,
                           {"addr=0.0.0.0:" + port});
  ASSERT_TRUE(r.exited) << r.err;
  // `herd start --listen 127.0.0.1:P` and a program that binds 0.0.0.0:P.
  EXPECT_TRUE(has_line(r.out, "take addr=0.0.0.0:" + port + " -> fd=3 local=" + bound)) << r.out;
}

TEST(SocketActivation, AnIpv6WildcardIsTakenByALoopbackRequestOfItsPort) {
  if (!has_ipv6()) GTEST_SKIP() << "no IPv6 on this machine";
  Fd s = bound_listener("[::]:0");
  std::string bound = local_of(s);
  std::string port = port_text(s);
  auto r = spawn_activated("activation_report", {"LISTEN_FDS=1"}, {s.get()}, ListenPid::kChild,
                           {"addr=127.0.0.1:" + port});
  ASSERT_TRUE(r.exited) << r.err;
  EXPECT_TRUE(has_line(r.out, "take addr=127.0.0.1:" + port + " -> fd=3 local=" + bound)) << r.out;
}

TEST(SocketActivation, ALoopbackSocketIsNotTakenForAnotherHostOrPort) {
  Fd s = bound_listener("127.0.0.1:0");
  std::string bound = local_of(s);
  std::string port = port_text(s);
  std::string other_port = port == "65535" ? "65534" : std::to_string(std::stoi(port) + 1);
  auto r = spawn_activated("activation_report", {"LISTEN_FDS=1"}, {s.get()}, ListenPid::kChild,
                           {"addr=127.0.0.2:" + port, "addr=0.0.0.0:" + other_port,
                            "addr=[::1]:" + port, "addr=127.0.0.1:" + port});
  ASSERT_TRUE(r.exited) << r.err;
  EXPECT_TRUE(has_line(r.out, "take addr=127.0.0.2:" + port + " -> none")) << r.out;
  EXPECT_TRUE(has_line(r.out, "take addr=0.0.0.0:" + other_port + " -> none")) << r.out;
  EXPECT_TRUE(has_line(r.out, "take addr=[::1]:" + port + " -> none")) << r.out;
  // Still there for the request that matches.
  EXPECT_TRUE(has_line(r.out, "take addr=127.0.0.1:" + port + " -> fd=3 local=" + bound)) << r.out;
}

TEST(SocketActivation, DefaultListenAddressIsTheOneInheritedSocket) {
  Fd s = bound_listener("127.0.0.1:0");
  std::string bound = local_of(s);
  auto r = spawn_activated("activation_default", {"LISTEN_FDS=1"}, {s.get()}, ListenPid::kChild,
                           {"0.0.0.0:8080", bound});
  ASSERT_TRUE(r.exited) << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("default=" + bound + "\ntook=3\n"), std::string::npos) << r.out;
  // Once taken it is no longer a default to offer.
  EXPECT_NE(r.out.find("took=3\ndefault=0.0.0.0:8080\n"), std::string::npos) << r.out;
}

TEST(SocketActivation, DefaultListenAddressIsTheFallbackForTwoSocketsOrNone) {
  Fd a = bound_listener("127.0.0.1:0");
  Fd b = bound_listener("127.0.0.1:0");
  {
    SCOPED_TRACE("two sockets");
    auto r = spawn_activated("activation_default", {"LISTEN_FDS=2"}, {a.get(), b.get()},
                             ListenPid::kChild, {"0.0.0.0:8080"});
    ASSERT_TRUE(r.exited) << r.err;
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_TRUE(has_line(r.out, "default=0.0.0.0:8080")) << r.out;
  }
  {
    SCOPED_TRACE("none");
    auto r =
        spawn_activated("activation_default", {}, {a.get()}, ListenPid::kNone, {"0.0.0.0:8080"});
    ASSERT_TRUE(r.exited) << r.err;
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_TRUE(has_line(r.out, "default=0.0.0.0:8080")) << r.out;
  }
  {
    SCOPED_TRACE("one, but for another process");
    auto r = spawn_activated("activation_default", {"LISTEN_FDS=1", "LISTEN_PID=1"}, {a.get()},
                             ListenPid::kNone, {"0.0.0.0:8080"});
    ASSERT_TRUE(r.exited) << r.err;
    EXPECT_TRUE(has_line(r.out, "default=0.0.0.0:8080")) << r.out;
  }
}

}  // namespace
}  // namespace herd
