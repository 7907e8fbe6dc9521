// The instance life cycle's one table: every pair of statuses, allowed or not.
#include "daemon/instance_status.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>

namespace herd::manager {
namespace {

using S = InstanceStatus;

constexpr S kAll[] = {S::kLaunching, S::kOnline,  S::kStopping,
                      S::kStopped,   S::kErrored, S::kWaitingRestart};

TEST(InstanceStatusTest, NamesArePm2Words) {
  std::set<std::string> names;
  for (S s : kAll) names.insert(status_name(s));
  EXPECT_EQ(names, (std::set<std::string>{"launching", "online", "stopping", "stopped", "errored",
                                          "waiting restart"}));
}

TEST(InstanceStatusTest, EveryPairIsAllowedOnlyWhenTheLifeCycleHasIt) {
  const std::set<std::pair<S, S>> allowed = {
      // a start, or a start that failed
      {S::kStopped, S::kLaunching},
      {S::kStopped, S::kErrored},
      {S::kErrored, S::kLaunching},
      {S::kErrored, S::kErrored},
      {S::kWaitingRestart, S::kLaunching},
      {S::kWaitingRestart, S::kErrored},
      // ready, stop
      {S::kLaunching, S::kOnline},
      {S::kLaunching, S::kStopping},
      {S::kOnline, S::kStopping},
      // what an exit leads to
      {S::kLaunching, S::kStopped},
      {S::kLaunching, S::kErrored},
      {S::kLaunching, S::kWaitingRestart},
      {S::kOnline, S::kStopped},
      {S::kOnline, S::kErrored},
      {S::kOnline, S::kWaitingRestart},
      {S::kStopping, S::kStopped},
      {S::kStopping, S::kErrored},
      // stop with no process
      {S::kErrored, S::kStopped},
      {S::kWaitingRestart, S::kStopped},
  };
  for (S from : kAll) {
    for (S to : kAll) {
      EXPECT_EQ(transition_allowed(from, to), allowed.contains({from, to}))
          << status_name(from) << " -> " << status_name(to);
    }
  }
}

TEST(InstanceStatusTest, NothingComesBackOnlineWithoutLaunching) {
  for (S from : kAll) {
    if (from == S::kLaunching) continue;
    EXPECT_FALSE(transition_allowed(from, S::kOnline)) << status_name(from);
  }
}

}  // namespace
}  // namespace herd::manager
