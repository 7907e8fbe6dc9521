#include "herd/loop/io_watcher.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include "herd/base/fd.h"
#include "herd/loop/event_loop.h"

namespace herd {
namespace {

TEST(IoWatcher, ReportsReadableThenStops) {
  EventLoop loop;
  auto pipe = Fd::pipe(O_NONBLOCK);
  ASSERT_TRUE(pipe.has_value());
  IoWatcher w(loop, pipe->first.get());
  std::string got;
  w.set_callback([&](std::uint32_t ev) {
    EXPECT_TRUE(ev & kReadable);
    char buf[16];
    ssize_t n = ::read(pipe->first.get(), buf, sizeof(buf));
    if (n > 0) got.append(buf, static_cast<size_t>(n));
    w.stop();
  });
  ASSERT_TRUE(w.start(kReadable).has_value());
  ASSERT_EQ(::write(pipe->second.get(), "hi", 2), 2);
  loop.run();
  EXPECT_EQ(got, "hi");
}

TEST(IoWatcher, WritableAndModify) {
  EventLoop loop;
  auto pair = Fd::socketpair(AF_UNIX, SOCK_STREAM);
  ASSERT_TRUE(pair.has_value());
  IoWatcher w(loop, pair->first.get());
  int writable = 0;
  w.set_callback([&](std::uint32_t ev) {
    if (ev & kWritable) {
      ++writable;
      // Switch interest to reading; the peer then writes.
      ASSERT_TRUE(w.start(kReadable).has_value());
      ASSERT_EQ(::write(pair->second.get(), "x", 1), 1);
    } else if (ev & kReadable) {
      w.stop();
    }
  });
  ASSERT_TRUE(w.start(kWritable).has_value());
  loop.run();
  EXPECT_EQ(writable, 1);
  EXPECT_EQ(w.events(), 0u);
}

TEST(IoWatcher, HangupIsReportedWithReadable) {
  EventLoop loop;
  auto pair = Fd::socketpair(AF_UNIX, SOCK_STREAM);
  ASSERT_TRUE(pair.has_value());
  IoWatcher w(loop, pair->first.get());
  std::uint32_t seen = 0;
  w.set_callback([&](std::uint32_t ev) {
    seen = ev;
    w.stop();
  });
  ASSERT_TRUE(w.start(kReadable).has_value());
  pair->second.reset();
  loop.run();
  EXPECT_TRUE(seen & kReadable);
}

TEST(IoWatcher, RegularFileIsRefusedWithClearError) {
  EventLoop loop;
  auto f = Fd::open("/proc/self/exe", O_RDONLY);
  ASSERT_TRUE(f.has_value());
  IoWatcher w(loop, f->get());
  auto r = w.start(kReadable);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), EPERM);
  EXPECT_NE(r.error().message().find("epoll_ctl"), std::string::npos);
  EXPECT_FALSE(w.is_active());
}

TEST(IoWatcher, WatcherStoppedByEarlierCallbackInSameBatchDoesNotRun) {
  // Two descriptors ready in the same epoll_wait: the first callback destroys the second
  // watcher, whose queued event must be dropped (libuv's invalidate_fd).
  EventLoop loop;
  auto p1 = Fd::pipe(O_NONBLOCK);
  auto p2 = Fd::pipe(O_NONBLOCK);
  ASSERT_TRUE(p1 && p2);
  ASSERT_EQ(::write(p1->second.get(), "a", 1), 1);
  ASSERT_EQ(::write(p2->second.get(), "b", 1), 1);
  auto w1 = std::make_unique<IoWatcher>(loop, p1->first.get());
  auto w2 = std::make_unique<IoWatcher>(loop, p2->first.get());
  int calls = 0;
  w1->set_callback([&](std::uint32_t) {
    ++calls;
    w1->stop();
    w2.reset();
  });
  w2->set_callback([&](std::uint32_t) {
    ++calls;
    w1->stop();
    w2->stop();
    w1.reset();
  });
  ASSERT_TRUE(w1->start(kReadable).has_value());
  ASSERT_TRUE(w2->start(kReadable).has_value());
  loop.run();
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace herd
