// A log follower that falls behind: the daemon does not grow for it, and it is told how many
// lines it missed (docs/control-protocol.md, "Log events"); the log file has every line.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>

#include "e2e/herd_fixture.h"

namespace herd::e2e {
namespace {

constexpr int kLines = 300000;

// Bytes of `seq 1 kLines`.
long long seq_bytes() {
  long long total = 0;
  for (int i = 1; i <= kLines; ++i) total += static_cast<long long>(std::to_string(i).size()) + 1;
  return total;
}

long long file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<long long>(st.st_size) : -1;
}

class LogsBacklogTest : public HerdTest {
 protected:
  void TearDown() override {
    if (fd_ >= 0) ::close(fd_);
    HerdTest::TearDown();
  }

  bool subscribe() {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path("herd.sock").c_str(), sizeof(addr.sun_path) - 1);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0) return false;
    std::string req = R"({"id":1,"verb":"logs","targets":["burst"]})"
                      "\n";
    if (::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
      return false;
    }
    std::string line;
    return next_line(&line, 20s) && line.find("\"streaming\":true") != std::string::npos;
  }

  // The next line from the daemon, within `timeout`.
  bool next_line(std::string* line, Ms timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
        *line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return true;
      }
      auto left = std::chrono::duration_cast<Ms>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[65536];
      ssize_t n = ::read(fd_, buf, sizeof(buf));
      if (n <= 0) return false;
      buffer_.append(buf, static_cast<std::size_t>(n));
    }
  }

  int fd_ = -1;
  std::string buffer_;
};

TEST_F(LogsBacklogTest, AFollowerThatFallsBehindIsToldHowManyLinesItMissed) {
  std::string begin = path("begin");
  std::string go = path("go");
  std::string script =
      write_script("burst.sh", "while [ ! -e " + begin + " ]; do sleep 0.05; done\nseq 1 " +
                                   std::to_string(kLines) + "\nwhile [ ! -e " + go +
                                   " ]; do sleep 0.05; done\necho last\nexec sleep 600\n");
  CommandResult r = herd({"start", script, "--name", "burst"});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_TRUE(subscribe());

  // The app writes every line while this client reads nothing: the daemon drops what does not
  // fit in the client's 4 MiB, and the file gets all of it.
  write_file(begin, "");
  std::string log = path("logs/burst-out.log");
  const long long want = seq_bytes();
  ASSERT_TRUE(wait_for([&] { return file_size(log) >= want; }, 120s))
      << file_size(log) << " of " << want << " bytes in " << log;

  // Now the client reads: the lines it got are in order and whole; a "skipped" event comes
  // before the next line after the backlog (the app's "last"), and the counts add up.
  write_file(go, "");
  long long got = 0;
  long long skipped = 0;
  long long previous = 0;
  bool last = false;
  std::string line;
  while (!last && next_line(&line, 60s)) {
    Json ev = Json::parse(line, nullptr, false);
    ASSERT_FALSE(ev.is_discarded()) << line.substr(0, 200);
    if (ev.value("event", "") == "skipped") {
      skipped += ev.value("lines", 0LL);
      continue;
    }
    ASSERT_EQ(ev.value("event", ""), "log") << line.substr(0, 200);
    std::string text = ev.value("line", "");
    if (text == "last") {
      last = true;
      break;
    }
    long long n = std::stoll(text);
    ASSERT_GT(n, previous) << "lines out of order";
    previous = n;
    ++got;
  }
  ASSERT_TRUE(last) << "the line after the backlog never came; got " << got << ", skipped "
                    << skipped;
  EXPECT_GT(skipped, 0) << "a client 300,000 lines behind lost none: the limit is not held";
  EXPECT_EQ(got + skipped, kLines) << "got " << got << ", skipped " << skipped;
  EXPECT_EQ(herd({"ping"}).exit_code, 0);
}

}  // namespace
}  // namespace herd::e2e
