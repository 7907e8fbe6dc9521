#include "logs/output_pipe.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "herd/loop/timer.h"
#include "logs_util.h"
#include "support/wait.h"

namespace herd::manager {
namespace {

using test::read_file;
using test::split_lines;
using test::TempDir;
using Lines = std::vector<std::string>;

void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    ASSERT_GT(n, 0) << "write: " << std::strerror(errno);
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::shared_ptr<RotatingFile> sink_at(const std::string& path) {
  RotatingFile::Options o;
  o.retry_interval_ms = 0;
  return std::make_shared<RotatingFile>(path, o);
}

// A pipe whose read end goes to an OutputPipe; the test keeps the write end.
struct Fixture {
  EventLoop loop;
  TempDir dir;
  Fd write_end;
  std::shared_ptr<RotatingFile> file;
  std::unique_ptr<OutputPipe> pipe;
  Lines seen;
  std::optional<Status> closed;

  explicit Fixture(OutputPipe::Options options = {}, int pipe_flags = 0) {
    auto fds = Fd::pipe(pipe_flags);
    if (!fds) std::abort();
    write_end = std::move(fds->second);
    file = sink_at(dir.file("app-out.log"));
    pipe = std::make_unique<OutputPipe>(loop, std::move(fds->first),
                                        std::vector<std::shared_ptr<RotatingFile>>{file}, options);
    pipe->subscribe([this](std::string_view line) { seen.emplace_back(line); });
    pipe->set_close_callback([this](Status st) { closed = std::move(st); });
  }
  bool run_until(const std::function<bool()>& done) { return herd::test::run_until(loop, done); }
};

TEST(OutputPipe, LinesReachTheFileAndSubscribers) {
  Fixture f;
  ASSERT_TRUE(f.pipe->start().has_value());
  write_all(f.write_end.get(), "one\ntwo\npar");
  ASSERT_TRUE(f.run_until([&] { return f.seen.size() == 2; }));
  EXPECT_EQ(f.seen, (Lines{"one", "two"}));
  EXPECT_EQ(read_file(f.file->path()), "one\ntwo\n");
  write_all(f.write_end.get(), "tial\n");
  ASSERT_TRUE(f.run_until([&] { return f.seen.size() == 3; }));
  EXPECT_EQ(f.seen.back(), "partial");
  EXPECT_EQ(f.pipe->lines(), 3u);
  EXPECT_EQ(f.pipe->bytes_read(), 16u);
}

TEST(OutputPipe, EndOfStreamFlushesThePartialLineAndReportsClosure) {
  Fixture f;
  ASSERT_TRUE(f.pipe->start().has_value());
  write_all(f.write_end.get(), "done\nno newline at the end");
  f.write_end.reset();
  ASSERT_TRUE(f.run_until([&] { return f.closed.has_value(); }));
  EXPECT_TRUE(f.closed->has_value());
  EXPECT_EQ(f.seen, (Lines{"done", "no newline at the end"}));
  EXPECT_EQ(read_file(f.file->path()), "done\nno newline at the end\n");
  EXPECT_TRUE(f.pipe->is_closed());
  // Nothing of the pipe keeps the loop alive any more.
  EXPECT_FALSE(f.loop.alive());
}

TEST(OutputPipe, ReadsAtMostTheBudgetPerEvent) {
  OutputPipe::Options options;
  options.read_budget = 1000;
  Fixture f(options, O_NONBLOCK);
  ASSERT_TRUE(f.pipe->start().has_value());
  std::string data;
  for (int i = 0; i < 500; ++i) data += "0123456789\n";  // 5500 bytes
  write_all(f.write_end.get(), data);
  f.loop.run(RunMode::kNoWait);
  EXPECT_EQ(f.pipe->bytes_read(), 1000u);
  f.loop.run(RunMode::kNoWait);
  EXPECT_EQ(f.pipe->bytes_read(), 2000u);
  ASSERT_TRUE(f.run_until([&] { return f.pipe->bytes_read() == data.size(); }));
  EXPECT_EQ(f.seen.size(), 500u);
  EXPECT_EQ(read_file(f.file->path()), data);
}

TEST(OutputPipe, DefaultBudgetIsOnePipeful) {
  Fixture f({}, O_NONBLOCK);
  if (::fcntl(f.write_end.get(), F_SETPIPE_SZ, 1 << 20) < (1 << 20)) {
    GTEST_SKIP() << "cannot grow the pipe to 1 MiB here";
  }
  ASSERT_TRUE(f.pipe->start().has_value());
  std::string data(256 * 1024, 'a');
  for (std::size_t i = 99; i < data.size(); i += 100) data[i] = '\n';
  write_all(f.write_end.get(), data);
  f.loop.run(RunMode::kNoWait);
  EXPECT_EQ(f.pipe->bytes_read(), 64u * 1024);
}

// The proof that a flooding app cannot starve the loop: 50 MB pushed as fast as a thread can
// write, while a timer on the same loop keeps firing. No timing thresholds: the timer must just
// have fired while the flood was still going, and every line must arrive, in order.
TEST(OutputPipe, FloodDoesNotStarveTheLoop) {
  EventLoop loop;
  TempDir dir;
  auto fds = Fd::pipe();
  ASSERT_TRUE(fds.has_value());
  RotatingFile::Options fo;
  fo.max_size = 1 << 20;
  fo.max_files = 3;
  auto file = std::make_shared<RotatingFile>(dir.file("flood.log"), fo);
  OutputPipe pipe(loop, std::move(fds->first), {file});
  constexpr int kLines = 500'000;
  constexpr std::size_t kWidth = 99;  // with '\n': 100 bytes a line, 50,000,000 in all

  long next = 0;
  bool in_order = true;
  pipe.subscribe([&](std::string_view line) {
    long n = -1;
    std::from_chars(line.data(), line.data() + std::min<std::size_t>(9, line.size()), n);
    if (n != next || line.size() != kWidth) in_order = false;
    ++next;
  });
  bool closed = false;
  pipe.set_close_callback([&](Status st) {
    EXPECT_TRUE(st.has_value());
    closed = true;
  });
  ASSERT_TRUE(pipe.start().has_value());

  std::atomic<bool> writer_done{false};
  int ticks_during_flood = 0;
  Timer timer(loop);
  timer.start(
      [&] {
        if (!writer_done.load()) ++ticks_during_flood;
      },
      1, 1);
  timer.unref();

  std::thread writer([w = std::move(fds->second), &writer_done]() mutable {
    std::string chunk;
    for (int i = 0; i < kLines; ++i) {
      char num[16];
      std::snprintf(num, sizeof(num), "%09d", i);
      std::string line(num);
      line.resize(kWidth, '.');
      line.push_back('\n');
      chunk += line;
      if (chunk.size() >= 32 * 1024 || i == kLines - 1) {
        std::string_view rest(chunk);
        while (!rest.empty()) {
          ssize_t n = ::write(w.get(), rest.data(), rest.size());
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) std::abort();
          rest.remove_prefix(static_cast<std::size_t>(n));
        }
        chunk.clear();
      }
    }
    writer_done = true;
    w.reset();  // EOF for the reader
  });
  bool ok = herd::test::run_until(
      loop, [&] { return closed; }, std::chrono::seconds(120));
  writer.join();
  timer.stop();
  ASSERT_TRUE(ok);

  EXPECT_GT(ticks_during_flood, 0);
  EXPECT_TRUE(in_order);
  EXPECT_EQ(next, kLines);
  EXPECT_EQ(pipe.bytes_read(), 50'000'000u);
  // The files stayed bounded: 3 files of at most 1 MiB, the last line last.
  std::uint64_t total = 0;
  for (unsigned i = 0; i < 3; ++i) total += test::file_size(file->rotated_path(i));
  EXPECT_LE(total, 3u << 20);
  EXPECT_FALSE(test::exists(file->rotated_path(3)));
  auto last = split_lines(read_file(file->path()));
  ASSERT_FALSE(last.empty());
  EXPECT_EQ(last.back().substr(0, 9), "000499999");
}

TEST(OutputPipe, TimestampsPrefixEveryLineInFileAndStream) {
  OutputPipe::Options options;
  options.timestamps = true;
  Fixture f(options);
  ASSERT_TRUE(f.pipe->start().has_value());
  write_all(f.write_end.get(), "a\nb\n");
  f.write_end.reset();
  ASSERT_TRUE(f.run_until([&] { return f.closed.has_value(); }));
  std::regex re(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}: [ab]$)");
  auto lines = split_lines(read_file(f.file->path()));
  ASSERT_EQ(lines.size(), 2u);
  for (auto& l : lines) EXPECT_TRUE(std::regex_match(l, re)) << l;
  EXPECT_EQ(f.seen, lines);
}

// log_type json: one object per line to the file and the subscribers; the line the stream
// ended without '\n' keeps none in its message, the others keep theirs (PM2's message is what
// the app wrote).
TEST(OutputPipe, JsonFormatWritesOneObjectPerLine) {
  OutputPipe::Options o;
  o.format = {.json = true, .type = "err", .process_id = 3, .app_name = "api"};
  Fixture f(o);
  ASSERT_TRUE(f.pipe->start().has_value());
  write_all(f.write_end.get(), "one\ntw");
  ASSERT_TRUE(f.run_until([&] { return f.seen.size() == 1; }));
  write_all(f.write_end.get(), "o");
  f.write_end.reset();
  ASSERT_TRUE(f.run_until([&] { return f.closed.has_value(); }));
  Lines lines = split_lines(read_file(f.file->path()));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines, f.seen);
  auto first = nlohmann::json::parse(lines[0]);
  auto last = nlohmann::json::parse(lines[1]);
  EXPECT_EQ(first["message"], "one\n");
  EXPECT_EQ(last["message"], "two");
  EXPECT_EQ(first["type"], "err");
  EXPECT_EQ(first["process_id"], 3);
  EXPECT_EQ(first["app_name"], "api");
}

// log_date_format: "<date>: " before each line, in the file and for the subscribers.
TEST(OutputPipe, DateFormatPrefixesEveryLine) {
  OutputPipe::Options o;
  o.format.date_format = "[D]";
  Fixture f(o);
  ASSERT_TRUE(f.pipe->start().has_value());
  write_all(f.write_end.get(), "a\nb\n");
  ASSERT_TRUE(f.run_until([&] { return f.seen.size() == 2; }));
  EXPECT_EQ(f.seen, (Lines{"D: a", "D: b"}));
  EXPECT_EQ(read_file(f.file->path()), "D: a\nD: b\n");
}

TEST(OutputPipe, SubscribersComeAndGoEvenFromInsideDelivery) {
  Fixture f;
  Lines second;
  OutputPipe::SubscriberId self = 0;
  OutputPipe::SubscriberId late = 0;
  // Unsubscribes itself on "stop", and subscribes a newcomer on "join".
  self = f.pipe->subscribe([&](std::string_view line) {
    second.emplace_back(line);
    if (line == "join") {
      late = f.pipe->subscribe(
          [&](std::string_view l) { second.push_back("late:" + std::string(l)); });
    }
    if (line == "stop") {
      EXPECT_TRUE(f.pipe->unsubscribe(self));
    }
  });
  EXPECT_EQ(f.pipe->subscribers(), 2u);
  ASSERT_TRUE(f.pipe->start().has_value());
  write_all(f.write_end.get(), "x\njoin\ny\nstop\nz\n");
  ASSERT_TRUE(f.run_until([&] { return f.seen.size() == 5; }));
  EXPECT_EQ(second, (Lines{"x", "join", "y", "late:y", "stop", "late:stop", "late:z"}));
  EXPECT_EQ(f.pipe->subscribers(), 2u);  // the fixture's and the late one
  EXPECT_FALSE(f.pipe->unsubscribe(self));
  EXPECT_TRUE(f.pipe->unsubscribe(late));
  EXPECT_FALSE(f.pipe->unsubscribe(0));
  EXPECT_EQ(f.pipe->subscribers(), 1u);
}

TEST(OutputPipe, MayBeDestroyedInItsCloseCallback) {
  Fixture f;
  ASSERT_TRUE(f.pipe->start().has_value());
  f.pipe->set_close_callback([&](Status) { f.pipe.reset(); });
  write_all(f.write_end.get(), "last words");
  f.write_end.reset();
  ASSERT_TRUE(f.run_until([&] { return f.pipe == nullptr; }));
  EXPECT_EQ(read_file(f.file->path()), "last words\n");
  EXPECT_FALSE(f.loop.alive());
}

TEST(OutputPipe, CloseByTheOwnerFlushesAndDoesNotCallBack) {
  Fixture f;
  ASSERT_TRUE(f.pipe->start().has_value());
  write_all(f.write_end.get(), "held");
  ASSERT_TRUE(f.run_until([&] { return f.pipe->bytes_read() == 4; }));
  EXPECT_TRUE(f.seen.empty());
  f.pipe->close();
  f.pipe->close();  // idempotent
  EXPECT_EQ(f.seen, Lines{"held"});
  EXPECT_EQ(read_file(f.file->path()), "held\n");
  EXPECT_TRUE(f.pipe->is_closed());
  f.loop.run(RunMode::kNoWait);
  EXPECT_FALSE(f.closed.has_value());
  EXPECT_FALSE(f.loop.alive());
}

TEST(OutputPipe, DestructionKeepsThePartialLineInTheFile) {
  Fixture f;
  ASSERT_TRUE(f.pipe->start().has_value());
  write_all(f.write_end.get(), "unfinished");
  ASSERT_TRUE(f.run_until([&] { return f.pipe->bytes_read() == 10; }));
  f.pipe.reset();
  EXPECT_EQ(read_file(f.file->path()), "unfinished\n");
  EXPECT_TRUE(f.seen.empty());  // subscribers are not called from the destructor
}

TEST(OutputPipe, StartFailsTwiceOrWithoutDescriptor) {
  Fixture f;
  ASSERT_TRUE(f.pipe->start().has_value());
  auto again = f.pipe->start();
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), EINVAL);
  OutputPipe none(f.loop, Fd(), {});
  auto st = none.start();
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code(), EBADF);
}

TEST(OutputPipe, TwoPipesShareOneFile) {
  // merge_logs: the instances of an app write to one file through one RotatingFile.
  EventLoop loop;
  TempDir dir;
  auto shared = sink_at(dir.file("merged.log"));
  auto combined = sink_at(dir.file("combined.log"));
  auto a = Fd::pipe();
  auto b = Fd::pipe();
  ASSERT_TRUE(a && b);
  OutputPipe pa(loop, std::move(a->first), {shared, combined});
  OutputPipe pb(loop, std::move(b->first), {shared, nullptr, combined});
  ASSERT_TRUE(pa.start().has_value());
  ASSERT_TRUE(pb.start().has_value());
  write_all(a->second.get(), "from a\n");
  write_all(b->second.get(), "from b\n");
  ASSERT_TRUE(herd::test::run_until(loop, [&] { return pa.lines() + pb.lines() == 2; }));
  auto lines = split_lines(read_file(shared->path()));
  std::sort(lines.begin(), lines.end());
  EXPECT_EQ(lines, (Lines{"from a", "from b"}));
  EXPECT_EQ(read_file(combined->path()).size(), 14u);
}

TEST(OutputPipe, AFailingFileDoesNotStopTheStream) {
  EventLoop loop;
  auto fds = Fd::pipe();
  ASSERT_TRUE(fds.has_value());
  auto full = sink_at("/dev/full");
  int reports = 0;
  full->set_error_callback([&](const Error&) { ++reports; });
  OutputPipe pipe(loop, std::move(fds->first), {full});
  Lines seen;
  pipe.subscribe([&](std::string_view l) { seen.emplace_back(l); });
  ASSERT_TRUE(pipe.start().has_value());
  write_all(fds->second.get(), "1\n");
  ASSERT_TRUE(herd::test::run_until(loop, [&] { return seen.size() == 1; }));
  write_all(fds->second.get(), "2\n");
  ASSERT_TRUE(herd::test::run_until(loop, [&] { return seen.size() == 2; }));
  EXPECT_EQ(seen, (Lines{"1", "2"}));
  EXPECT_EQ(reports, 1);
  EXPECT_EQ(full->dropped_bytes(), 4u);
}

}  // namespace
}  // namespace herd::manager
