#include "herd/net/listener.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "herd/loop/event_loop.h"
#include "herd/loop/phase_handle.h"
#include "herd/net/address.h"
#include "herd/net/stream.h"
#include "support/child_process.h"
#include "support/temp_dir.h"
#include "support/wait.h"

namespace herd {
namespace {

using test::run_until;

Address loopback_any_port() {
  auto a = Address::parse("127.0.0.1:0");
  EXPECT_TRUE(a.has_value());
  return *a;
}

bool path_exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

using test::TempDir;

// Connects a client Stream to `address` and waits until the listener has accepted it.
struct Accepted {
  std::vector<Fd> fds;
};

TEST(ListenerTest, ListensOnAKernelChosenPortAndAccepts) {
  EventLoop loop;
  Listener listener(loop);
  Accepted accepted;
  ASSERT_TRUE(
      listener.listen(loopback_any_port(), [&](Fd fd) { accepted.fds.push_back(std::move(fd)); })
          .has_value());
  auto bound = listener.local_address();
  ASSERT_TRUE(bound.has_value()) << bound.error().message();
  EXPECT_NE(bound->port(), 0);
  EXPECT_EQ(bound->to_string(), "127.0.0.1:" + std::to_string(bound->port()));
  // The listener counts as one handle; its internal watcher does not.
  EXPECT_EQ(loop.active_handles(), 1u);

  Stream client(loop);
  bool connected = false;
  ASSERT_TRUE(client.connect(*bound, [&](Status s) { connected = s.has_value(); }).has_value());
  ASSERT_TRUE(run_until(loop, [&] { return connected && accepted.fds.size() == 1; }));

  // The accepted descriptor is non-blocking and close-on-exec, and its peer is the client.
  int fd = accepted.fds[0].get();
  EXPECT_TRUE(::fcntl(fd, F_GETFL) & O_NONBLOCK);
  EXPECT_TRUE(::fcntl(fd, F_GETFD) & FD_CLOEXEC);
  auto peer = Address::peer_of(fd);
  auto client_local = Address::local_of(client.fd());
  ASSERT_TRUE(peer && client_local);
  EXPECT_EQ(*peer, *client_local);

  client.close();
  listener.close();
  EXPECT_FALSE(loop.run());
  EXPECT_EQ(listener.fd(), -1);
}

TEST(ListenerTest, BindErrorNamesTheAddress) {
  EventLoop loop;
  Listener first(loop);
  ASSERT_TRUE(first.listen(loopback_any_port(), [](Fd) {}).has_value());
  auto bound = first.local_address();
  ASSERT_TRUE(bound.has_value());

  Listener second(loop);
  auto result = second.listen(*bound, [](Fd) {});
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code(), EADDRINUSE);
  EXPECT_NE(result.error().message().find("bind " + bound->to_string()), std::string::npos)
      << result.error().message();
  EXPECT_FALSE(second.is_active());

  // A listener listens once.
  auto twice = first.listen(*bound, [](Fd) {});
  ASSERT_FALSE(twice.has_value());
  EXPECT_EQ(twice.error().code(), EINVAL);
}

TEST(ListenerTest, PauseLeavesConnectionsQueuedUntilResume) {
  EventLoop loop;
  Listener listener(loop);
  Accepted accepted;
  ASSERT_TRUE(
      listener.listen(loopback_any_port(), [&](Fd fd) { accepted.fds.push_back(std::move(fd)); })
          .has_value());
  auto bound = listener.local_address();
  ASSERT_TRUE(bound.has_value());
  listener.pause();
  EXPECT_FALSE(listener.is_active());
  EXPECT_EQ(loop.active_handles(), 0u);

  Stream client(loop);
  bool connected = false;
  ASSERT_TRUE(client.connect(*bound, [&](Status s) { connected = s.has_value(); }).has_value());
  ASSERT_TRUE(run_until(loop, [&] { return connected; }));
  // The connection waits in the kernel's queue: the socket is readable, and stays unaccepted.
  pollfd p{listener.fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 10'000), 1);
  for (int i = 0; i < 5; ++i) loop.run(RunMode::kNoWait);
  EXPECT_TRUE(accepted.fds.empty());

  ASSERT_TRUE(listener.resume().has_value());
  EXPECT_TRUE(listener.is_active());
  ASSERT_TRUE(run_until(loop, [&] { return accepted.fds.size() == 1; }));
  client.close();
  listener.close();
  loop.run();
}

TEST(ListenerTest, ResumeWithoutSocketIsEINVAL) {
  EventLoop loop;
  Listener listener(loop);
  auto r = listener.resume();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), EINVAL);
  auto addr = listener.local_address();
  ASSERT_FALSE(addr.has_value());
  EXPECT_EQ(addr.error().code(), EBADF);
}

TEST(ListenerTest, AdoptsAListeningSocket) {
  EventLoop loop;
  auto sock = Fd::socket(AF_INET, SOCK_STREAM);
  ASSERT_TRUE(sock.has_value());
  Address any = loopback_any_port();
  ASSERT_EQ(::bind(sock->get(), any.data(), any.size()), 0);
  ASSERT_EQ(::listen(sock->get(), 16), 0);
  ASSERT_TRUE(set_nonblocking(sock->get(), false).has_value());  // as an inherited one may be
  ASSERT_EQ(::fcntl(sock->get(), F_SETFD, 0), 0);

  Listener listener(loop);
  Accepted accepted;
  ASSERT_TRUE(
      listener.adopt(std::move(*sock), [&](Fd fd) { accepted.fds.push_back(std::move(fd)); })
          .has_value());
  EXPECT_TRUE(::fcntl(listener.fd(), F_GETFL) & O_NONBLOCK);
  EXPECT_TRUE(::fcntl(listener.fd(), F_GETFD) & FD_CLOEXEC);
  auto bound = listener.local_address();
  ASSERT_TRUE(bound.has_value());
  Stream client(loop);
  ASSERT_TRUE(client.connect(*bound, [](Status) {}).has_value());
  ASSERT_TRUE(run_until(loop, [&] { return accepted.fds.size() == 1; }));
  client.close();
  listener.close();
  loop.run();
}

TEST(ListenerTest, AdoptRejectsASocketThatDoesNotListen) {
  EventLoop loop;
  auto sock = Fd::socket(AF_INET, SOCK_STREAM);
  ASSERT_TRUE(sock.has_value());
  Listener listener(loop);
  auto r = listener.adopt(std::move(*sock), [](Fd) {});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), EINVAL);
  EXPECT_NE(r.error().message().find("not a listening socket"), std::string::npos);
}

TEST(ListenerTest, UnixSocketFileIsCreatedAndRemovedOnClose) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::string path = dir.path() + "/s.sock";
  auto address = Address::parse(path);
  ASSERT_TRUE(address.has_value());

  EventLoop loop;
  Listener listener(loop);
  Accepted accepted;
  ASSERT_TRUE(
      listener.listen(*address, [&](Fd fd) { accepted.fds.push_back(std::move(fd)); }).has_value());
  EXPECT_TRUE(path_exists(path));
  auto bound = listener.local_address();
  ASSERT_TRUE(bound.has_value());
  EXPECT_EQ(*bound, *address);

  Stream client(loop);
  bool connected = false;
  ASSERT_TRUE(client.connect(*address, [&](Status s) { connected = s.has_value(); }).has_value());
  ASSERT_TRUE(run_until(loop, [&] { return connected && accepted.fds.size() == 1; }));
  client.close();
  listener.close();
  loop.run();
  EXPECT_FALSE(path_exists(path));
}

TEST(ListenerTest, StaleUnixSocketFileIsReplaced) {
  TempDir dir;
  std::string path = dir.path() + "/stale.sock";
  auto address = Address::parse(path);
  ASSERT_TRUE(address.has_value());
  {
    // A server that died without removing its socket file.
    auto dead = Fd::socket(AF_UNIX, SOCK_STREAM);
    ASSERT_TRUE(dead.has_value());
    ASSERT_EQ(::bind(dead->get(), address->data(), address->size()), 0);
    ASSERT_EQ(::listen(dead->get(), 1), 0);
  }
  ASSERT_TRUE(path_exists(path));

  EventLoop loop;
  Listener listener(loop);
  auto r = listener.listen(*address, [](Fd) {});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  listener.close();
  loop.run();
  EXPECT_FALSE(path_exists(path));
}

TEST(ListenerTest, LiveUnixSocketAndOtherFilesAreNotReplaced) {
  TempDir dir;
  EventLoop loop;

  std::string live_path = dir.path() + "/live.sock";
  auto live = Address::parse(live_path);
  ASSERT_TRUE(live.has_value());
  Listener first(loop);
  ASSERT_TRUE(first.listen(*live, [](Fd) {}).has_value());
  Listener second(loop);
  auto r = second.listen(*live, [](Fd) {});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), EADDRINUSE);
  EXPECT_NE(r.error().message().find("bind unix:" + live_path), std::string::npos);
  // The failed listener did not take the live one's file away.
  second.close();
  loop.run(RunMode::kNoWait);
  EXPECT_TRUE(path_exists(live_path));

  std::string file_path = dir.path() + "/file";
  {
    auto f = Fd::open(file_path.c_str(), O_CREAT | O_WRONLY, 0600);
    ASSERT_TRUE(f.has_value());
  }
  auto file = Address::parse(file_path);
  ASSERT_TRUE(file.has_value());
  Listener third(loop);
  auto r3 = third.listen(*file, [](Fd) {});
  ASSERT_FALSE(r3.has_value());
  EXPECT_EQ(r3.error().code(), EADDRINUSE);
  EXPECT_TRUE(path_exists(file_path));

  first.close();
  loop.run();
  EXPECT_FALSE(path_exists(live_path));
}

TEST(ListenerTest, AbstractUnixSocket) {
  auto address = Address::parse("unix:@herd-listener-test-" + std::to_string(::getpid()));
  ASSERT_TRUE(address.has_value());
  EventLoop loop;
  Listener listener(loop);
  Accepted accepted;
  ASSERT_TRUE(
      listener.listen(*address, [&](Fd fd) { accepted.fds.push_back(std::move(fd)); }).has_value());
  Stream client(loop);
  ASSERT_TRUE(client.connect(*address, [](Status) {}).has_value());
  ASSERT_TRUE(run_until(loop, [&] { return accepted.fds.size() == 1; }));
  client.close();
  listener.close();
  loop.run();
}

TEST(ListenerTest, Ipv6Loopback) {
  auto address = Address::parse("[::1]:0");
  ASSERT_TRUE(address.has_value());
  EventLoop loop;
  Listener listener(loop);
  std::unique_ptr<Stream> server;
  auto r = listener.listen(*address, [&](Fd fd) {
    server = std::make_unique<Stream>(loop, std::move(fd));
    server->read_start([&](Result<std::string_view> chunk) {
      if (chunk && !chunk->empty()) server->write(*chunk);
    });
  });
  if (!r && (r.error().code() == EADDRNOTAVAIL || r.error().code() == EAFNOSUPPORT)) {
    GTEST_SKIP() << "no IPv6 loopback here: " << r.error().message();
  }
  ASSERT_TRUE(r.has_value()) << r.error().message();
  auto bound = listener.local_address();
  ASSERT_TRUE(bound.has_value());
  EXPECT_EQ(bound->family(), AF_INET6);
  EXPECT_EQ(bound->to_string(), "[::1]:" + std::to_string(bound->port()));

  Stream client(loop);
  std::string echoed;
  ASSERT_TRUE(client.connect(*bound, [&](Status s) { ASSERT_TRUE(s.has_value()); }).has_value());
  client.read_start([&](Result<std::string_view> chunk) {
    if (chunk) echoed.append(*chunk);
  });
  client.write("over ipv6");
  ASSERT_TRUE(run_until(loop, [&] { return echoed == "over ipv6"; }));
  client.close();
  server->close();
  listener.close();
  loop.run();
}

TEST(ListenerTest, ConnectionCallbackMayCloseTheListener) {
  EventLoop loop;
  Listener listener(loop);
  int accepted = 0;
  ASSERT_TRUE(listener
                  .listen(loopback_any_port(),
                          [&](Fd) {
                            ++accepted;
                            listener.close();
                          })
                  .has_value());
  auto bound = listener.local_address();
  ASSERT_TRUE(bound.has_value());
  // Several connections queued at once: the accept loop must stop at the first close.
  std::vector<std::unique_ptr<Stream>> clients;
  int connected = 0;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(std::make_unique<Stream>(loop));
    ASSERT_TRUE(clients.back()->connect(*bound, [&](Status) { ++connected; }).has_value());
  }
  ASSERT_TRUE(run_until(loop, [&] { return connected == 4 && listener.is_closing(); }));
  for (auto& c : clients) c->close();
  loop.run();
  EXPECT_EQ(accepted, 1);
}

// --- EMFILE --------------------------------------------------------------------------------
//
// Runs in a child process (its descriptor limit is lowered, which would disturb other tests):
// with every descriptor taken, a client connects. Without the reserve-descriptor trick the
// listener stays readable and accept fails again and again: the loop spins and the client
// waits forever. With it, the client sees its connection closed within a few iterations.
// The loop is driven one blocking iteration at a time, so iterations only happen when there
// is something to do, and a Prepare handle counts them.

int highest_open_fd() {
  int highest = 2;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (dirent* e = ::readdir(d)) highest = std::max(highest, std::atoi(e->d_name));
    ::closedir(d);
  }
  return highest;
}

// One connection through the whole path: accept, connect, read to EOF, close.
bool one_connection(EventLoop& loop, const Address& address, int& accepted) {
  int before = accepted;
  Stream client(loop);
  bool ended = false;
  if (!client.connect(address, [](Status) {})) return false;
  client.read_start([&](Result<std::string_view> chunk) {
    if (!chunk || chunk->empty()) ended = true;
  });
  bool ok = run_until(loop, [&] { return accepted == before + 1 && ended; });
  client.close();
  loop.run(RunMode::kNoWait);
  return ok;
}

int emfile_role(int, char**) {
  EventLoop loop;
  Listener listener(loop);
  int accepted = 0;
  // Accepted connections are closed at once: their clients see EOF.
  if (!listener.listen(loopback_any_port(), [&](Fd) { ++accepted; })) return 10;
  auto bound = listener.local_address();
  if (!bound) return 11;
  Prepare counter(loop);
  int iterations = 0;
  counter.start([&] { ++iterations; });
  counter.unref();

  // Every code path once while descriptors are plentiful. UBSan's vptr check probes memory
  // through a pipe(2), which fails once the table is full; its type cache must be warm by then.
  if (!one_connection(loop, *bound, accepted)) return 16;

  rlimit old;
  ::getrlimit(RLIMIT_NOFILE, &old);
  rlimit low = old;
  low.rlim_cur = static_cast<rlim_t>(highest_open_fd() + 16);
  if (::setrlimit(RLIMIT_NOFILE, &low) < 0) return 12;

  Stream client(loop);
  bool ended = false;
  std::string how;
  if (!client.connect(*bound, [](Status) {})) return 13;
  client.read_start([&](Result<std::string_view> chunk) {
    if (!chunk) {
      ended = true;
      how = chunk.error().code_name();
    } else if (chunk->empty()) {
      ended = true;
      how = "EOF";
    }
  });

  // Take every descriptor that is left.
  std::vector<Fd> fillers;
  for (;;) {
    auto f = Fd::open("/dev/null", O_RDONLY);
    if (!f) {
      if (f.error().code() != EMFILE) return 14;
      break;
    }
    fillers.push_back(std::move(*f));
  }

  iterations = 0;
  constexpr int kSpinning = 1000;
  while (!ended && iterations < kSpinning) loop.run(RunMode::kOnce);
  std::printf("iterations=%d ended=%d how=%s\n", iterations, ended ? 1 : 0, how.c_str());
  if (!ended) return 1;           // spinning, or the connection hangs in the queue
  if (iterations > 20) return 2;  // a few iterations: connect, accept+close, EOF
  if (accepted != 1) return 3;    // the dropped connection never reached the callback

  // With descriptors back, the listener accepts as before (its reserve was re-opened).
  fillers.clear();
  ::setrlimit(RLIMIT_NOFILE, &old);
  if (!one_connection(loop, *bound, accepted)) return 4;

  counter.close();
  client.close();
  listener.close();
  loop.run();
  std::fflush(stdout);
  return 0;
}

[[maybe_unused]] bool emfile_registered = test::register_role("net-listener-emfile", emfile_role);

TEST(ListenerTest, OutOfDescriptorsDoesNotSpinAndDropsTheConnection) {
  auto result = test::run_self("net-listener-emfile", {}, std::chrono::seconds(30));
  EXPECT_FALSE(result.timed_out);
  ASSERT_TRUE(result.exited) << "signal " << result.term_signal << "; " << result.output;
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("ended=1"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace herd
