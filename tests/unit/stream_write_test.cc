// Stream's direct path: a write with no callback to an idle socket goes straight to the kernel,
// and only the bytes the socket does not take are kept (copied, for the copying overloads).
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <optional>
#include <string>
#include <string_view>

#include "herd/loop/event_loop.h"
#include "herd/net/stream.h"
#include "support/wait.h"
#include "unit/stream_test_util.h"

namespace herd {
namespace {

using test::run_until;

TEST(StreamWrite, AWriteTheSocketTakesLeavesNothingQueuedAndNoRequest) {
  EventLoop loop;
  auto [x, y] = unix_pair();
  Stream a(loop, std::move(x));
  a.unref();
  EXPECT_TRUE(a.write(std::string_view("direct")));
  EXPECT_EQ(a.write_queue_size(), 0u);
  // Nothing owed: with the stream unreferenced, the loop has nothing left to do.
  EXPECT_FALSE(loop.alive());
  char buf[16];
  ASSERT_EQ(::recv(y.get(), buf, sizeof(buf), 0), 6);
  EXPECT_EQ(std::string_view(buf, 6), "direct");
}

TEST(StreamWrite, TheUntakenRestOfAViewIsCopiedBeforeWriteReturns) {
  EventLoop loop;
  auto [x, y] = unix_pair();
  Stream a(loop, std::move(x));
  Stream b(loop, std::move(y));
  const std::string original = pattern(4 << 20, 7);
  std::string buffer = original;
  EXPECT_FALSE(a.write(std::string_view(buffer)));  // more than the socket buffer
  EXPECT_GT(a.write_queue_size(), 0u);
  EXPECT_LT(a.write_queue_size(), original.size());  // the socket took its start at once
  // The caller may reuse its buffer as soon as write() returns.
  buffer.assign(buffer.size(), 'X');
  Collector got;
  b.read_start(got.callback());
  ASSERT_TRUE(run_until(loop, [&] { return got.data.size() == original.size(); }));
  EXPECT_TRUE(got.data == original);
}

TEST(StreamWrite, WritesAfterAPartialDirectWriteKeepTheirOrder) {
  EventLoop loop;
  auto [x, y] = tcp_pair();
  Stream a(loop, std::move(x));
  Stream b(loop, std::move(y));
  const std::string first = pattern(8 << 20, 1);
  const std::string second = pattern(1000, 2);
  a.write(std::string(first));
  std::optional<Status> third_done;
  a.write(std::string_view(second));
  a.write("end", [&](Status s) { third_done = s; });
  Collector got;
  b.read_start(got.callback());
  const std::size_t total = first.size() + second.size() + 3;
  ASSERT_TRUE(run_until(loop, [&] { return third_done && got.data.size() == total; }));
  EXPECT_TRUE(third_done->has_value());
  EXPECT_TRUE(got.data == first + second + "end");
}

TEST(StreamWrite, ADirectWriteToAClosedPeerFailsTheLaterOnes) {
  EventLoop loop;
  auto [x, y] = unix_pair();
  Stream a(loop, std::move(x));
  y.reset();
  EXPECT_FALSE(a.write(std::string_view("nobody")));
  std::optional<Status> later;
  a.write("listens", [&](Status s) { later = s; });
  ASSERT_TRUE(run_until(loop, [&] { return later.has_value(); }));
  ASSERT_FALSE(later->has_value());
  EXPECT_EQ(later->error().code(), EPIPE);
}

TEST(StreamWrite, AWriteWithACallbackStillRunsItFromTheLoop) {
  EventLoop loop;
  auto [x, y] = unix_pair();
  Stream a(loop, std::move(x));
  std::optional<Status> done;
  EXPECT_TRUE(a.write(std::string_view("cb"), [&](Status s) { done = s; }));
  EXPECT_FALSE(done.has_value());
  ASSERT_TRUE(run_until(loop, [&] { return done.has_value(); }));
  EXPECT_TRUE(done->has_value());
}

TEST(StreamWrite, WriteNoCopySendsTheCallersBufferIntact) {
  EventLoop loop;
  auto pair = Fd::socketpair(AF_UNIX, SOCK_STREAM);
  ASSERT_TRUE(pair.has_value());
  Stream writer(loop, std::move(pair->first));
  Stream reader(loop, std::move(pair->second));
  // Larger than the socket buffer, so the write completes over several iterations from the
  // caller's memory.
  std::string big(4 * 1024 * 1024, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 % 251);
  std::string got;
  bool done = false;
  EXPECT_FALSE(writer.write_no_copy(big, [&](Status s) {
    EXPECT_TRUE(s.has_value());
    done = true;
    writer.close();
  }));
  reader.read_start([&](Result<std::string_view> chunk) {
    ASSERT_TRUE(chunk.has_value());
    if (chunk->empty()) {
      reader.close();
      return;
    }
    got.append(*chunk);
  });
  loop.run();
  EXPECT_TRUE(done);
  EXPECT_TRUE(got == big);
}

}  // namespace
}  // namespace herd
