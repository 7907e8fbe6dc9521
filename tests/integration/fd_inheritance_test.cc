// No descriptor libherd creates leaks into an exec'd child: the test binary re-runs itself as
// the child, which lists its open descriptors.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <set>
#include <sstream>
#include <string>

#include "herd/base/fd.h"
#include "herd/loop/async.h"
#include "herd/loop/event_loop.h"
#include "herd/loop/io_watcher.h"
#include "herd/loop/signal.h"
#include "herd/loop/thread_pool.h"
#include "herd/loop/timer.h"
#include "herd/net/listener.h"
#include "herd/net/stream.h"
#include "support/child_process.h"
#include "support/wait.h"

namespace herd {
namespace {

std::set<int> open_fds() {
  std::set<int> fds;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return fds;
  int self = ::dirfd(d);
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    int fd = std::atoi(e->d_name);
    if (fd != self) fds.insert(fd);
  }
  ::closedir(d);
  return fds;
}

bool list_role = test::register_role("list_fds", [](int, char**) {
  for (int fd : open_fds()) {
    if (fd > 2) std::printf("%d ", fd);
  }
  std::printf("\n");
  return 0;
});

TEST(FdInheritance, ExecdChildInheritsNoLibherdDescriptor) {
  // Descriptors this process got from whoever started it without CLOEXEC (a test runner's) are
  // inherited legitimately; everything else must not be.
  std::set<int> expected;
  for (int fd : open_fds()) {
    if (fd > 2 && (::fcntl(fd, F_GETFD) & FD_CLOEXEC) == 0) expected.insert(fd);
  }

  EventLoop loop;  // epoll + eventfd
  Timer timer(loop);
  timer.start([] {}, 60000);
  Async async(loop, [] {});
  Signal sig(loop);  // signalfd
  ASSERT_TRUE(sig.start(SIGUSR1, [](int) {}).has_value());
  auto pipe = Fd::pipe();
  ASSERT_TRUE(pipe.has_value());
  IoWatcher watcher(loop, pipe->first.get());
  ASSERT_TRUE(watcher.start(kReadable).has_value());
  auto file = Fd::open("/proc/self/exe", O_RDONLY);
  ASSERT_TRUE(file.has_value());

  // A listening socket, an accepted connection and a client connection.
  Listener listener(loop);
  std::unique_ptr<Stream> server_side;
  auto addr = Address::parse("127.0.0.1:0");
  ASSERT_TRUE(addr.has_value());
  ASSERT_TRUE(
      listener
          .listen(*addr,
                  [&](Fd conn) { server_side = std::make_unique<Stream>(loop, std::move(conn)); })
          .has_value());
  auto bound = listener.local_address();
  ASSERT_TRUE(bound.has_value());
  Stream client(loop);
  bool connected = false;
  ASSERT_TRUE(client.connect(*bound, [&](Status s) { connected = s.has_value(); }).has_value());
  ASSERT_TRUE(test::run_until(loop, [&] { return connected && server_side != nullptr; }));

  // A thread-pool round trip, so the pool's threads exist too.
  bool worked = false;
  queue_work(
      loop, [] {}, [&](WorkStatus) { worked = true; });
  ASSERT_TRUE(test::run_until(loop, [&] { return worked; }));

  std::set<int> ours = open_fds();
  auto r = test::run_self("list_fds");
  ASSERT_TRUE(r.exited);
  std::set<int> child;
  std::istringstream in(r.output);
  for (int fd; in >> fd;) child.insert(fd);
  EXPECT_EQ(child, expected) << "the child inherited descriptors it should not have";
  EXPECT_GT(ours.size(), expected.size() + 8) << "the test opened fewer descriptors than it meant";

  sig.stop();
  timer.stop();
  async.close();
  watcher.stop();
  listener.close();
  client.close();
  server_side->close();
  loop.run();
}

}  // namespace
}  // namespace herd
