// herd::Work, the caller-owned thread-pool request: where each side runs, cancellation, and the
// request's lifetime (it may be destroyed or queued again inside its own after_work).
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "herd/loop/event_loop.h"
#include "herd/loop/thread_pool.h"

namespace herd {
namespace {

// Records where and how its two halves ran; optionally blocks in work() until released.
struct Probe final : Work {
  std::thread::id work_on, after_on;
  std::optional<WorkStatus> status;
  int after_calls = 0;
  std::function<void()> on_work;
  std::function<void(Probe&)> on_after;

  void work() override {
    work_on = std::this_thread::get_id();
    if (on_work) on_work();
  }
  void after_work(WorkStatus s) override {
    after_on = std::this_thread::get_id();
    status = s;
    ++after_calls;
    if (on_after) on_after(*this);
  }
};

// Holds every pool thread in work() until release(), so the next request stays queued.
class PoolBlocker {
 public:
  explicit PoolBlocker(EventLoop& loop) : blockers_(thread_pool_size()) {
    for (Probe& p : blockers_) {
      p.on_work = [this] {
        ++started_;
        std::unique_lock<std::mutex> lock(m_);
        cv_.wait(lock, [this] { return released_; });
      };
      queue_work(loop, p);
    }
    while (started_.load() < blockers_.size()) std::this_thread::yield();
  }
  void release() {
    {
      std::lock_guard<std::mutex> lock(m_);
      released_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::vector<Probe> blockers_;
  std::mutex m_;
  std::condition_variable cv_;
  bool released_ = false;
  std::atomic<std::size_t> started_{0};
};

TEST(Work, RunsOffLoopThreadAndCompletesOnIt) {
  EventLoop loop;
  Probe p;
  EXPECT_FALSE(p.in_flight());
  queue_work(loop, p);
  EXPECT_TRUE(p.in_flight());
  EXPECT_EQ(loop.active_requests(), 1u);
  EXPECT_FALSE(loop.run());
  EXPECT_EQ(p.status, WorkStatus::kOk);
  EXPECT_EQ(p.after_calls, 1);
  EXPECT_NE(p.work_on, std::this_thread::get_id());
  EXPECT_EQ(p.after_on, std::this_thread::get_id());
  EXPECT_FALSE(p.in_flight());
  EXPECT_EQ(loop.active_requests(), 0u);
}

TEST(Work, RequeuedFromItsOwnAfterWork) {
  EventLoop loop;
  Probe p;
  int rounds = 0;
  p.on_after = [&](Probe& self) {
    EXPECT_FALSE(self.in_flight());
    if (++rounds < 100) queue_work(loop, self);
  };
  queue_work(loop, p);
  loop.run();
  EXPECT_EQ(rounds, 100);
  EXPECT_EQ(p.after_calls, 100);
}

TEST(Work, ManyInFlightAllCompleteOnce) {
  EventLoop loop;
  std::vector<Probe> probes(500);
  for (Probe& p : probes) queue_work(loop, p);
  loop.run();
  for (const Probe& p : probes) {
    EXPECT_EQ(p.after_calls, 1);
    EXPECT_EQ(p.status, WorkStatus::kOk);
  }
}

// Several loops on several threads share the pool: each loop's requests complete on that loop's
// thread, each exactly as often as queued, while the others' completions arrive concurrently.
TEST(Work, LoopsOnManyThreadsShareThePool) {
  constexpr int kThreads = 4;
  constexpr int kRequests = 8;
  constexpr int kTrips = 500;
  struct Trip final : Work {
    EventLoop* loop = nullptr;
    std::thread::id loop_thread;
    int left = kTrips;
    int completions = 0;
    bool wrong_thread = false;
    void work() override {}
    void after_work(WorkStatus) override {
      ++completions;
      if (std::this_thread::get_id() != loop_thread) wrong_thread = true;
      if (--left > 0) queue_work(*loop, *this);
    }
  };
  std::vector<std::vector<Trip>> trips(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    trips[t] = std::vector<Trip>(kRequests);
    threads.emplace_back([&mine = trips[t]] {
      EventLoop loop;
      for (Trip& trip : mine) {
        trip.loop = &loop;
        trip.loop_thread = std::this_thread::get_id();
        queue_work(loop, trip);
      }
      loop.run();
    });
  }
  for (std::thread& t : threads) t.join();
  for (const auto& mine : trips) {
    for (const Trip& trip : mine) {
      EXPECT_EQ(trip.completions, kTrips);
      EXPECT_FALSE(trip.wrong_thread);
    }
  }
}

TEST(Work, CancelBeforeStartGivesCancelledStatusLater) {
  EventLoop loop;
  PoolBlocker blocker(loop);
  Probe queued;
  bool queued_ran = false;
  queued.on_work = [&] { queued_ran = true; };
  queue_work(loop, queued);
  EXPECT_TRUE(queued.cancel());
  EXPECT_FALSE(queued.cancel());    // only once
  EXPECT_FALSE(queued.status);      // never from inside cancel()
  EXPECT_TRUE(queued.in_flight());  // until its after_work runs
  EXPECT_EQ(loop.active_requests(), thread_pool_size() + 1);
  blocker.release();
  loop.run();
  EXPECT_EQ(queued.status, WorkStatus::kCancelled);
  EXPECT_EQ(queued.after_calls, 1);
  EXPECT_FALSE(queued_ran);
  EXPECT_FALSE(queued.cancel());  // no longer in flight
}

TEST(Work, CancelFailsOnceStartedAndWhenNeverQueued) {
  EventLoop loop;
  Probe idle;
  EXPECT_FALSE(idle.cancel());
  std::atomic<bool> started{false}, release{false};
  Probe running;
  running.on_work = [&] {
    started = true;
    while (!release.load()) std::this_thread::yield();
  };
  queue_work(loop, running);
  while (!started.load()) std::this_thread::yield();
  EXPECT_FALSE(running.cancel());
  release = true;
  loop.run();
  EXPECT_EQ(running.status, WorkStatus::kOk);
}

TEST(Work, DestroyedInsideItsOwnAfterWork) {
  EventLoop loop;
  int completed = 0;
  for (int i = 0; i < 50; ++i) {
    auto* p = new Probe;
    p->on_after = [&completed](Probe& self) {
      ++completed;
      delete &self;
    };
    queue_work(loop, *p);
  }
  loop.run();
  EXPECT_EQ(completed, 50);
}

TEST(Work, CancelledRequestMayBeDestroyedInItsAfterWorkAndTheOthersStillRun) {
  EventLoop loop;
  PoolBlocker blocker(loop);
  auto* cancelled = new Probe;
  cancelled->on_after = [](Probe& self) { delete &self; };
  Probe after;
  queue_work(loop, *cancelled);
  queue_work(loop, after);
  EXPECT_TRUE(cancelled->cancel());
  blocker.release();
  loop.run();
  EXPECT_EQ(after.status, WorkStatus::kOk);
}

class WorkDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(WorkDeathTest, QueueingARequestInFlightAborts) {
  EXPECT_DEATH(
      {
        EventLoop loop;
        PoolBlocker blocker(loop);
        Probe p;
        queue_work(loop, p);
        queue_work(loop, p);
      },
      "already in flight");
}

TEST_F(WorkDeathTest, DestroyingARequestInFlightAborts) {
  EXPECT_DEATH(
      {
        EventLoop loop;
        PoolBlocker blocker(loop);
        auto p = std::make_unique<Probe>();
        queue_work(loop, *p);
        p.reset();
      },
      "destroyed while in flight");
}

}  // namespace
}  // namespace herd
