#include "herd/loop/worker.h"

#include <gtest/gtest.h>

#include <set>
#include <stdexcept>
#include <string>
#include <thread>

#include "herd/loop/event_loop.h"
#include "herd/loop/timer.h"
#include "herd/loop/worker_pool.h"

namespace herd {
namespace {

TEST(Message, OwnsAndTypesItsValue) {
  Message m = Message::of(std::string("hello"));
  EXPECT_TRUE(m.holds<std::string>());
  EXPECT_FALSE(m.holds<int>());
  EXPECT_EQ(m.get<int>(), nullptr);
  ASSERT_NE(m.get<std::string>(), nullptr);
  EXPECT_EQ(*m.get<std::string>(), "hello");
  Message moved = std::move(m);
  EXPECT_TRUE(m.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
  EXPECT_EQ(*moved.get<std::string>(), "hello");
}

TEST(Worker, MessagesBothWaysThenCleanExit) {
  EventLoop loop;
  std::vector<std::string> got;
  std::thread::id worker_thread;
  int exit_code = -1;
  Worker w(loop, [&worker_thread](WorkerScope& scope) {
    worker_thread = std::this_thread::get_id();
    scope.on_message([&scope](Message m) {
      std::string* s = m.get<std::string>();
      if (s != nullptr && *s == "bye") {
        scope.close();
        return;
      }
      scope.post_message(Message::of("echo:" + (s ? *s : std::string("?"))));
    });
  });
  w.on_message([&](Message m) { got.push_back(*m.get<std::string>()); });
  w.on_exit([&](int code) { exit_code = code; });
  EXPECT_TRUE(w.post_message(Message::of(std::string("a"))));
  EXPECT_TRUE(w.post_message(Message::of(std::string("b"))));
  EXPECT_TRUE(w.post_message(Message::of(std::string("bye"))));
  loop.run();
  EXPECT_EQ(got, (std::vector<std::string>{"echo:a", "echo:b"}));
  EXPECT_EQ(exit_code, 0);
  EXPECT_FALSE(w.running());
  EXPECT_NE(worker_thread, std::this_thread::get_id());
  EXPECT_FALSE(w.post_message(Message::of(1)));
}

TEST(Worker, ExceptionInWorkerCallbackReachesOwner) {
  EventLoop loop;
  std::string error;
  int exit_code = -1;
  Worker w(loop, [](WorkerScope& scope) {
    Timer t(scope.loop());
    t.start([] { throw std::runtime_error("bad input 42"); }, 1);
    scope.run();
  });
  w.on_error([&](std::exception_ptr e, const std::string& what) {
    error = what;
    try {
      std::rethrow_exception(e);
    } catch (const std::runtime_error& re) {
      EXPECT_STREQ(re.what(), "bad input 42");
    }
  });
  w.on_exit([&](int code) { exit_code = code; });
  loop.run();
  EXPECT_NE(error.find("bad input 42"), std::string::npos) << error;
  EXPECT_EQ(exit_code, 1);
}

TEST(Worker, ExceptionInBodyReachesOwner) {
  EventLoop loop;
  std::string error;
  int exit_code = -1;
  Worker w(loop, [](WorkerScope&) { throw std::invalid_argument("no config"); });
  w.on_error([&](std::exception_ptr, const std::string& what) { error = what; });
  w.on_exit([&](int code) { exit_code = code; });
  loop.run();
  EXPECT_NE(error.find("no config"), std::string::npos);
  EXPECT_EQ(exit_code, 1);
}

TEST(Worker, TerminateStopsARunningWorker) {
  EventLoop loop;
  int exit_code = -1;
  std::atomic<int> ticks{0};
  Worker w(loop, [&ticks](WorkerScope& scope) {
    Timer t(scope.loop());
    t.start([&ticks] { ++ticks; }, 1, 1);  // would run forever
    scope.post_message(Message::of(std::string("started")));
    scope.run();
  });
  w.on_message([&](Message) { w.terminate(); });
  w.on_exit([&](int code) { exit_code = code; });
  loop.run();
  EXPECT_EQ(exit_code, 1);
}

TEST(Worker, ExitCodeFromScope) {
  EventLoop loop;
  int exit_code = -1;
  Worker w(loop, [](WorkerScope& scope) {
    scope.loop().set_immediate([&scope] { scope.exit(7); });
    scope.run();
  });
  w.on_exit([&](int code) { exit_code = code; });
  loop.run();
  EXPECT_EQ(exit_code, 7);
}

TEST(Worker, DestructorTerminatesAndJoins) {
  EventLoop loop;
  {
    Worker w(loop, [](WorkerScope& scope) { scope.on_message([](Message) {}); });
    loop.run(RunMode::kNoWait);
  }  // would hang here if the destructor did not stop the listening worker
  SUCCEED();
}

TEST(WorkerPool, RunsTasksOnWorkersAndReturnsResults) {
  EventLoop loop;
  WorkerPool pool(loop, 3);
  std::set<std::thread::id> threads;
  std::mutex m;
  long sum = 0;
  int done = 0;
  for (int i = 1; i <= 100; ++i) {
    pool.submit(
        [i, &threads, &m] {
          {
            std::lock_guard<std::mutex> lock(m);
            threads.insert(std::this_thread::get_id());
          }
          return Message::of(static_cast<long>(i) * i);
        },
        [&](std::expected<Message, std::string> r) {
          ASSERT_TRUE(r.has_value());
          sum += *r->get<long>();
          ++done;
        });
  }
  loop.run();
  EXPECT_EQ(done, 100);
  EXPECT_EQ(sum, 338350);
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u);
  EXPECT_GE(threads.size(), 1u);
  EXPECT_LE(threads.size(), 3u);
}

TEST(WorkerPool, TaskExceptionGoesToItsCallback) {
  EventLoop loop;
  WorkerPool pool(loop, 1);
  std::string error;
  bool second_ok = false;
  pool.submit([]() -> Message { throw std::runtime_error("task failed"); },
              [&](std::expected<Message, std::string> r) {
                ASSERT_FALSE(r.has_value());
                error = r.error();
              });
  pool.submit([] { return Message::of(1); },
              [&](std::expected<Message, std::string> r) { second_ok = r.has_value(); });
  loop.run();
  EXPECT_EQ(error, "task failed");
  EXPECT_TRUE(second_ok);  // the worker survived its task's exception
}

}  // namespace
}  // namespace herd
