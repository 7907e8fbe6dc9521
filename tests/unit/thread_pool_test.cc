#include "herd/loop/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "herd/loop/event_loop.h"
#include "support/child_process.h"

namespace herd {
namespace {

TEST(ThreadPool, WorkRunsOffLoopThreadAndAfterWorkOnIt) {
  EventLoop loop;
  std::thread::id work_on, after_on;
  WorkStatus status = WorkStatus::kCancelled;
  queue_work(
      loop, [&] { work_on = std::this_thread::get_id(); },
      [&](WorkStatus s) {
        status = s;
        after_on = std::this_thread::get_id();
      });
  EXPECT_EQ(loop.active_requests(), 1u);
  EXPECT_FALSE(loop.run());
  EXPECT_EQ(status, WorkStatus::kOk);
  EXPECT_NE(work_on, std::this_thread::get_id());
  EXPECT_EQ(after_on, std::this_thread::get_id());
  EXPECT_EQ(loop.active_requests(), 0u);
}

TEST(ThreadPool, ManyRequestsAllComplete) {
  EventLoop loop;
  std::atomic<int> worked{0};
  int completed = 0;
  for (int i = 0; i < 2000; ++i) {
    queue_work(
        loop, [&] { ++worked; },
        [&](WorkStatus s) {
          EXPECT_EQ(s, WorkStatus::kOk);
          ++completed;
        });
  }
  loop.run();
  EXPECT_EQ(worked.load(), 2000);
  EXPECT_EQ(completed, 2000);
}

TEST(ThreadPool, CancelBeforeStartGivesCancelledStatus) {
  EventLoop loop;
  std::mutex m;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> blocked{0};
  const std::size_t n = thread_pool_size();
  // Occupy every pool thread so the next request stays queued.
  for (std::size_t i = 0; i < n; ++i) {
    queue_work(
        loop,
        [&] {
          ++blocked;
          std::unique_lock<std::mutex> lock(m);
          cv.wait(lock, [&] { return release; });
        },
        [](WorkStatus) {});
  }
  bool queued_ran = false;
  std::optional<WorkStatus> queued_status;
  WorkRequest req = queue_work(
      loop, [&] { queued_ran = true; }, [&](WorkStatus s) { queued_status = s; });
  EXPECT_TRUE(req.cancel());
  EXPECT_FALSE(req.cancel());               // only once
  EXPECT_FALSE(queued_status.has_value());  // never from inside cancel()
  {
    std::lock_guard<std::mutex> lock(m);
    release = true;
  }
  cv.notify_all();
  loop.run();
  ASSERT_TRUE(queued_status.has_value());
  EXPECT_EQ(*queued_status, WorkStatus::kCancelled);
  EXPECT_FALSE(queued_ran);
}

TEST(ThreadPool, CancelAfterCompletionFails) {
  EventLoop loop;
  WorkRequest req = queue_work(
      loop, [] {}, [](WorkStatus) {});
  loop.run();
  EXPECT_FALSE(req.cancel());
  EXPECT_FALSE(WorkRequest().cancel());
}

TEST(ThreadPool, ParseSize) {
  struct Case {
    const char* value;
    std::size_t size;
    bool warns;
  } cases[] = {
      {nullptr, 4, false},
      {"", 4, false},
      {"1", 1, false},
      {"16", 16, false},
      {"1024", 1024, false},
      {"0", 1, true},
      {"-3", 1, true},
      {"5000", 1024, true},
      {"abc", 4, true},
      {"8x", 4, true},
      {"99999999999999999999", 4, true},
  };
  for (const auto& c : cases) {
    std::string warning;
    EXPECT_EQ(parse_thread_pool_size(c.value, &warning), c.size) << (c.value ? c.value : "null");
    EXPECT_EQ(!warning.empty(), c.warns) << (c.value ? c.value : "null");
    if (c.warns) {
      EXPECT_NE(warning.find("HERD_THREADPOOL_SIZE"), std::string::npos) << warning;
    }
  }
}

bool print_size_role = test::register_role("print_pool_size", [](int, char**) {
  std::printf("%zu\n", thread_pool_size());
  return 0;
});

TEST(ThreadPool, SizeComesFromEnvironment) {
  struct Case {
    const char* env;
    const char* expect;
  } cases[] = {{"7", "7\n"}, {"abc", "4\n"}, {"0", "1\n"}, {"2000", "1024\n"}};
  for (const auto& c : cases) {
    ::setenv("HERD_THREADPOOL_SIZE", c.env, 1);
    auto r = test::run_self("print_pool_size");
    ::unsetenv("HERD_THREADPOOL_SIZE");
    ASSERT_TRUE(r.exited) << c.env;
    EXPECT_EQ(r.output, c.expect) << c.env;
  }
}

bool fork_role = test::register_role("pool_after_fork", [](int, char**) {
  // Use the pool, fork, and use it again in the child: the child must get a fresh pool.
  // Every pool thread runs one request, all at the same time, before the fork: a thread still
  // starting up may hold a lock of the allocator's (AddressSanitizer's, whose fork() does not
  // take them), which the child would inherit held. Forking while another thread allocates is
  // the program's hazard, not the pool's.
  {
    EventLoop loop;
    const std::size_t threads = thread_pool_size();
    std::atomic<std::size_t> running{0};
    for (std::size_t i = 0; i < threads; ++i) {
      queue_work(
          loop,
          [&running, threads] {
            ++running;
            while (running.load() < threads) std::this_thread::yield();
          },
          [](WorkStatus) {});
    }
    loop.run();
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    EventLoop loop;
    bool done = false;
    queue_work(
        loop, [] {}, [&](WorkStatus) { done = true; });
    loop.run();
    ::_exit(done ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::printf("%d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 99);
  return 0;
});

TEST(ThreadPool, UsableInForkedChild) {
  auto r = test::run_self("pool_after_fork");
  ASSERT_TRUE(r.exited);
  EXPECT_EQ(r.output, "0\n");
}

}  // namespace
}  // namespace herd
