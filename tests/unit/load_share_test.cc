// load_shares (src/metrics/load_share.h): shares of connections and CPU, and when an instance
// is marked `imbalance`.
#include "metrics/load_share.h"

#include <gtest/gtest.h>

namespace herd::manager {
namespace {

InstanceLoad load(std::uint64_t first, std::uint64_t second, double cpu = 10) {
  return {.running = true,
          .covered = true,
          .accepted = first + second,
          .accepted_first = first,
          .accepted_second = second,
          .cpu_percent = cpu};
}

TEST(LoadShare, SharesOfConnectionsAndCpu) {
  auto s = load_shares({load(30, 30, 30), load(10, 10, 10), {}});
  ASSERT_EQ(s.size(), 3u);
  EXPECT_DOUBLE_EQ(*s[0].connections, 0.75);
  EXPECT_DOUBLE_EQ(*s[1].connections, 0.25);
  EXPECT_DOUBLE_EQ(*s[0].cpu, 0.75);
  EXPECT_FALSE(s[2].connections);  // not running
  EXPECT_FALSE(s[2].cpu);
}

TEST(LoadShare, TwoInstancesOverTwoThirdsIsAnImbalance) {
  auto s = load_shares({load(40, 40), load(10, 10)});
  EXPECT_TRUE(s[0].imbalance);
  EXPECT_FALSE(s[1].imbalance);
  // 60/40: uneven, not an imbalance.
  s = load_shares({load(30, 30), load(20, 20)});
  EXPECT_FALSE(s[0].imbalance);
  EXPECT_FALSE(s[1].imbalance);
}

TEST(LoadShare, FourInstancesTwiceTheOthersMean) {
  // 50 vs 10 + 10 + 10: 50 > 2 × 10.
  auto s = load_shares({load(25, 25), load(5, 5), load(5, 5), load(5, 5)});
  EXPECT_TRUE(s[0].imbalance);
  // Even: nobody.
  s = load_shares({load(10, 10), load(10, 10), load(10, 10), load(10, 10)});
  for (const auto& x : s) EXPECT_FALSE(x.imbalance);
}

TEST(LoadShare, ABurstInOneHalfIsNotSustained) {
  // All in the newer half went to the first instance, the older half was even.
  auto s = load_shares({load(20, 60), load(20, 0)});
  EXPECT_FALSE(s[0].imbalance);
}

TEST(LoadShare, NotJudgedOnTooFewConnectionsOrAPartialWindow) {
  auto s = load_shares({load(4, 4), load(0, 0)});
  EXPECT_DOUBLE_EQ(*s[0].connections, 1.0);
  EXPECT_FALSE(s[0].imbalance);
  auto young = load(40, 40);
  young.covered = false;
  s = load_shares({young, load(1, 1)});
  EXPECT_FALSE(s[0].imbalance);
  // One instance: nothing to compare with.
  s = load_shares({load(100, 100)});
  EXPECT_FALSE(s[0].imbalance);
  EXPECT_DOUBLE_EQ(*s[0].connections, 1.0);
}

TEST(LoadShare, NothingAccepted) {
  auto s = load_shares({load(0, 0, 0), load(0, 0, 0)});
  EXPECT_FALSE(s[0].connections);
  EXPECT_FALSE(s[0].cpu);
  EXPECT_FALSE(s[0].imbalance);
}

}  // namespace
}  // namespace herd::manager
