// detail::Fifo: first in, first out, across growth, compaction and reuse of its storage.
#include "herd/base/detail/fifo.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace herd::detail {
namespace {

TEST(Fifo, EmptyOwnsNoMemoryAndPopsInOrder) {
  Fifo<std::string> q;
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.size(), 0u);
  q.push_back("a");
  q.emplace_back("b");
  q.push_back("c");
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.front(), "a");
  EXPECT_EQ(q.back(), "c");
  q.pop_front();
  EXPECT_EQ(q.front(), "b");
  std::vector<std::string> seen(q.begin(), q.end());
  EXPECT_EQ(seen, (std::vector<std::string>{"b", "c"}));
  q.pop_front();
  q.pop_front();
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.begin(), q.end());
}

// A queue that never empties (one in, one out, for a long time) keeps its order and its memory
// bounded by what is live: the dead prefix is dropped instead of growing the vector.
TEST(Fifo, SteadyTrafficKeepsOrderAndCompacts) {
  Fifo<int> q;
  int next_in = 0;
  int next_out = 0;
  for (int i = 0; i < 5; ++i) q.push_back(next_in++);
  for (int round = 0; round < 100000; ++round) {
    q.push_back(next_in++);
    ASSERT_EQ(q.front(), next_out);
    q.pop_front();
    ++next_out;
    ASSERT_EQ(q.size(), 5u);
  }
  int expected = next_out;
  for (int v : q) EXPECT_EQ(v, expected++);
  EXPECT_EQ(expected, next_in);
}

// pop_front() releases what the element held at once, not when the storage is reused.
TEST(Fifo, PopReleasesTheElementAtOnce) {
  Fifo<std::shared_ptr<int>> q;
  auto first = std::make_shared<int>(1);
  std::weak_ptr<int> watch = first;
  q.push_back(std::move(first));
  q.push_back(std::make_shared<int>(2));
  q.pop_front();
  EXPECT_TRUE(watch.expired());
  EXPECT_EQ(*q.front(), 2);
  q.clear();
  EXPECT_TRUE(q.empty());
  q.push_back(std::make_shared<int>(3));
  EXPECT_EQ(*q.front(), 3);
}

}  // namespace
}  // namespace herd::detail
