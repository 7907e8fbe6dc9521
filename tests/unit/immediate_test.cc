// Immediates stored in their nodes (include/herd/loop/detail/immediate.h): the callable's
// lifetime (destroyed right after it runs, when cleared, or with the loop), callables too large
// for the node, ids of recycled nodes, and order across many nodes.
#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "herd/loop/event_loop.h"

namespace herd {
namespace {

TEST(Immediate, CallableIsDestroyedRightAfterItRuns) {
  EventLoop loop;
  auto token = std::make_shared<int>(0);
  std::weak_ptr<int> watch = token;
  long uses_in_second = -1;
  loop.set_immediate([t = std::move(token)] { ++*t; });
  // Queued in the same batch, after the first: by then the first callable is gone.
  loop.set_immediate([&] { uses_in_second = watch.use_count(); });
  loop.run();
  EXPECT_EQ(uses_in_second, 0);
  EXPECT_TRUE(watch.expired());
}

TEST(Immediate, ClearedCallableIsDestroyedAtOnceAndNeverRuns) {
  EventLoop loop;
  auto token = std::make_shared<int>(0);
  std::weak_ptr<int> watch = token;
  bool ran = false;
  ImmediateId id = loop.set_immediate([t = std::move(token), &ran] { ran = true; });
  EXPECT_FALSE(watch.expired());
  EXPECT_TRUE(loop.clear_immediate(id));
  EXPECT_TRUE(watch.expired());
  EXPECT_FALSE(loop.clear_immediate(id));
  EXPECT_FALSE(loop.alive());
  loop.run();
  EXPECT_FALSE(ran);
}

TEST(Immediate, QueuedCallableIsDestroyedWithTheLoop) {
  auto token = std::make_shared<int>(0);
  std::weak_ptr<int> watch = token;
  {
    EventLoop loop;
    loop.set_immediate([t = std::move(token)] {});
    EXPECT_FALSE(watch.expired());
  }
  EXPECT_TRUE(watch.expired());
}

TEST(Immediate, CallableLargerThanTheNodeRunsAndIsFreed) {
  EventLoop loop;
  std::array<char, 4 * detail::ImmediateNode::kInlineSize> big{};
  big[0] = 'x';
  big[big.size() - 1] = 'y';
  auto token = std::make_shared<int>(0);
  std::weak_ptr<int> watch = token;
  std::string seen;
  loop.set_immediate([big, t = std::move(token), &seen] { seen = {big.front(), big.back()}; });
  // A cleared large one is freed too (ASan would see a leak otherwise).
  EXPECT_TRUE(loop.clear_immediate(loop.set_immediate([big] {})));
  loop.run();
  EXPECT_EQ(seen, "xy");
  EXPECT_TRUE(watch.expired());
}

TEST(Immediate, CallbackAndEmptyCallback) {
  EventLoop loop;
  int ran = 0;
  Callback cb = [&ran] { ++ran; };
  loop.set_immediate(std::move(cb));
  loop.set_immediate(Callback{});  // runs as a no-op
  EXPECT_TRUE(loop.alive());
  loop.run();
  EXPECT_EQ(ran, 1);
  EXPECT_FALSE(loop.alive());
}

TEST(Immediate, ClearingItsOwnIdWhileRunningReturnsFalse) {
  EventLoop loop;
  ImmediateId self = 0;
  bool cleared = true;
  self = loop.set_immediate([&] { cleared = loop.clear_immediate(self); });
  loop.run();
  EXPECT_FALSE(cleared);
}

TEST(Immediate, IdOfARecycledNodeMatchesNothing) {
  EventLoop loop;
  ImmediateId old_id = loop.set_immediate([] {});
  loop.run();
  // The node is recycled for the next immediate; the old id must not clear the new one.
  bool ran = false;
  ImmediateId new_id = loop.set_immediate([&] { ran = true; });
  EXPECT_NE(new_id, old_id);
  EXPECT_NE(new_id, 0u);
  EXPECT_FALSE(loop.clear_immediate(old_id));
  EXPECT_FALSE(loop.clear_immediate(0));
  EXPECT_FALSE(loop.clear_immediate(~ImmediateId{0}));
  loop.run();
  EXPECT_TRUE(ran);
}

// Many immediates over many node chunks, two of every three cleared (one before the check phase,
// one by an earlier immediate of the same batch), each queuing a follower for the next iteration:
// the order is queue order, each runs once, and the followers run in the next batch.
TEST(Immediate, ManyAcrossChunksKeepOrderThroughClearsAndRecycling) {
  EventLoop loop;
  constexpr int kCount = 5000;
  std::vector<int> order;
  std::vector<ImmediateId> ids(kCount);
  int followers = 0;
  for (int i = 0; i < kCount; ++i) {
    ids[i] = loop.set_immediate([&, i] {
      order.push_back(i);
      if (i % 3 == 1 && i + 1 < kCount) {
        EXPECT_TRUE(loop.clear_immediate(ids[i + 1]));
      }
      loop.set_immediate([&] { ++followers; });
    });
  }
  for (int i = 0; i < kCount; i += 3) EXPECT_TRUE(loop.clear_immediate(ids[i]));
  loop.run();
  std::vector<int> expected;
  for (int i = 0; i < kCount; ++i)
    if (i % 3 == 1) expected.push_back(i);
  EXPECT_EQ(order, expected);
  EXPECT_EQ(followers, static_cast<int>(expected.size()));
  EXPECT_FALSE(loop.alive());
}

// With an exception handler installed (the loop does not abort), a throwing immediate's
// callable is still destroyed, and the loop keeps going on the next run.
TEST(Immediate, ThrowingCallableIsDestroyed) {
  EventLoop loop;
  std::string error;
  loop.set_exception_handler([&](std::exception_ptr, const std::string& what) { error = what; });
  auto token = std::make_shared<int>(0);
  std::weak_ptr<int> watch = token;
  loop.set_immediate([t = std::move(token)] { throw std::runtime_error("boom"); });
  loop.run();
  EXPECT_NE(error.find("boom"), std::string::npos) << error;
  EXPECT_TRUE(watch.expired());
  bool ran = false;
  loop.set_immediate([&] { ran = true; });
  loop.run();
  EXPECT_TRUE(ran);
}

}  // namespace
}  // namespace herd
