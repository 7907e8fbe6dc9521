// Paths of the loop that promise not to allocate, checked with a counting operator new. In a
// binary of its own, so that replacing the global allocator touches no other test.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <new>

#include "herd/loop/event_loop.h"
#include "herd/loop/thread_pool.h"
#include "herd/net/stream.h"

namespace {
std::atomic<std::size_t> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace herd {
namespace {

struct Trip final : Work {
  EventLoop* loop = nullptr;
  int* left = nullptr;
  void work() override {}
  void after_work(WorkStatus) override {
    if (--*left > 0) queue_work(*loop, *this);
  }
};

// Round trips with caller-owned requests: queue_work, the pool, the completion list and the
// wake-ups allocate nothing once the loop and the pool exist.
TEST(LoopAllocation, WorkRoundTripsAllocateNothing) {
  EventLoop loop;
  std::array<Trip, 16> trips;
  auto round = [&](int per_trip) {
    int left[trips.size()];
    for (std::size_t i = 0; i < trips.size(); ++i) {
      left[i] = per_trip;
      trips[i].loop = &loop;
      trips[i].left = &left[i];
      queue_work(loop, trips[i]);
    }
    loop.run();
  };
  round(10);  // creates the pool and sizes the loop's buffers
  std::size_t before = g_allocations.load();
  round(200);
  EXPECT_EQ(g_allocations.load() - before, 0u);
}

// Immediates store their callables in recycled nodes: once the loop has nodes for a batch, a
// steady stream of immediates (up to detail::ImmediateNode::kInlineSize bytes each, a Callback
// included) allocates nothing, set, run or cleared.
TEST(LoopAllocation, ImmediatesAllocateNothing) {
  EventLoop loop;
  int ran = 0;
  auto round = [&](int count) {
    for (int i = 0; i < count; ++i) {
      ImmediateId id =
          loop.set_immediate([&ran, pad = std::array<int, 8>{}] { ran += 1 + pad[0]; });
      if (i % 4 == 0) loop.clear_immediate(id);
      if (i % 4 == 1) loop.set_immediate(Callback([&ran] { ++ran; }));
    }
    loop.run();
  };
  round(1000);  // creates the nodes
  std::size_t before = g_allocations.load();
  for (int r = 0; r < 10; ++r) round(1000);
  EXPECT_EQ(g_allocations.load() - before, 0u);
  EXPECT_EQ(ran, 11 * 1000);
}

// A connection that is accepted and closed at once (a server under many short connections)
// costs no allocation in its Stream: an empty write queue owns no memory, and a close with
// nothing pending schedules nothing.
TEST(LoopAllocation, AStreamOpenedAndClosedAllocatesNothing) {
  EventLoop loop;
  int closed = 0;
  auto round = [&](int count) {
    for (int i = 0; i < count; ++i) {
      int fds[2];
      ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
      ::close(fds[1]);
      alignas(Stream) static unsigned char storage[sizeof(Stream)];
      auto* stream = new (storage) Stream(loop, Fd(fds[0]));
      stream->close([stream, &closed] {
        stream->~Stream();
        ++closed;
      });
      loop.run();
    }
  };
  round(10);
  std::size_t before = g_allocations.load();
  round(100);
  EXPECT_EQ(g_allocations.load() - before, 0u);
  EXPECT_EQ(closed, 110);
}

// The counter itself works: the convenient form allocates its request.
TEST(LoopAllocation, CountingAllocatorSeesTheFunctionForm) {
  EventLoop loop;
  std::size_t before = g_allocations.load();
  queue_work(
      loop, [] {}, [](WorkStatus) {});
  EXPECT_GT(g_allocations.load() - before, 0u);
  loop.run();
}

}  // namespace
}  // namespace herd
