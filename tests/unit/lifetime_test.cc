// DestroyGuard and DeferOnce (herd/base/detail/destroy_guard.h, herd/loop/detail/life_token.h).
#include <gtest/gtest.h>

#include <memory>
#include <optional>

#include "herd/base/detail/destroy_guard.h"
#include "herd/loop/detail/life_token.h"
#include "herd/loop/event_loop.h"

namespace herd {
namespace {

struct Owner {
  detail::DestroySlot slot;
};

TEST(DestroyGuard, StaysFalseWhileTheOwnerLives) {
  Owner owner;
  {
    detail::DestroyGuard guard(owner.slot);
    EXPECT_FALSE(guard.destroyed());
  }
  // The slot is free again: a later guard works as the first did.
  auto other = std::make_unique<Owner>();
  detail::DestroyGuard guard(other->slot);
  other.reset();
  EXPECT_TRUE(guard.destroyed());
}

TEST(DestroyGuard, NestedGuardsAllSeeTheDestruction) {
  auto owner = std::make_unique<Owner>();
  detail::DestroyGuard outer(owner->slot);
  {
    detail::DestroyGuard inner(owner->slot);
    owner.reset();
    EXPECT_TRUE(inner.destroyed());
  }
  EXPECT_TRUE(outer.destroyed());
}

TEST(DestroyGuard, InnerGuardEndingRestoresTheOuterOne) {
  auto owner = std::make_unique<Owner>();
  detail::DestroyGuard outer(owner->slot);
  { detail::DestroyGuard inner(owner->slot); }
  owner.reset();
  EXPECT_TRUE(outer.destroyed());
}

TEST(DeferOnce, ManyRequestsBeforeItRunsMakeOneRun) {
  EventLoop loop;
  detail::DeferOnce once;
  int runs = 0;
  for (int i = 0; i < 3; ++i) once.schedule(loop, [&] { ++runs; });
  EXPECT_TRUE(once.scheduled());
  loop.run();
  EXPECT_EQ(runs, 1);
  EXPECT_FALSE(once.scheduled());
  once.schedule(loop, [&] { ++runs; });
  loop.run();
  EXPECT_EQ(runs, 2);
}

TEST(DeferOnce, DoesNotRunOnceItsOwnerIsGone) {
  EventLoop loop;
  bool ran = false;
  std::optional<detail::DeferOnce> once(std::in_place);
  once->schedule(loop, [&] { ran = true; });
  once.reset();
  loop.run();
  EXPECT_FALSE(ran);
}

TEST(LifeToken, WatchExpiresWithTheToken) {
  std::optional<detail::LifeToken> token(std::in_place);
  detail::LifeToken::Watch watch = token->watch();
  EXPECT_FALSE(watch.expired());
  token.reset();
  EXPECT_TRUE(watch.expired());
}

}  // namespace
}  // namespace herd
