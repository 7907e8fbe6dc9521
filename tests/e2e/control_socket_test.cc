// The control socket's access rules: HERD_HOME 0700, herd.sock 0600, and a peer of another uid
// refused by SO_PEERCRED even when the file modes would let it in.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <string>

#include "e2e/herd_fixture.h"
#include "e2e/process.h"

namespace herd::e2e {
namespace {

using ::testing::HasSubstr;

constexpr uid_t kNobody = 65534;

// Reads one line (without '\n') from `fd`, waiting at most `timeout`.
std::string read_line(int fd, Ms timeout) {
  std::string line;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<Ms>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return line + "<timed out>";
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char c;
    ssize_t n = ::read(fd, &c, 1);
    if (n <= 0) return line + "<eof>";
    if (c == '\n') return line;
    line.push_back(c);
  }
}

// Runs `fn` in a child process that became uid/gid 65534 and returns what `fn` returned. A fork
// without exec on purpose (the closure runs in the copy of this process); the child is killed if
// it has not answered within kCommandTimeout, and always reaped.
std::string as_nobody(const std::function<std::string()>& fn) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return "pipe failed";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    std::string out;
    if (::setgroups(0, nullptr) < 0 || ::setgid(kNobody) < 0 || ::setuid(kNobody) < 0) {
      out = std::string("cannot become uid 65534: ") + std::strerror(errno);
    } else {
      out = fn();
    }
    [[maybe_unused]] ssize_t n = ::write(p[1], out.data(), out.size());
    ::_exit(0);
  }
  ::close(p[1]);
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + kCommandTimeout;
  for (;;) {  // to EOF: the child exited
    auto left = std::chrono::duration_cast<Ms>(deadline - std::chrono::steady_clock::now());
    pollfd pfd{p[0], POLLIN, 0};
    int ready = left.count() > 0 ? ::poll(&pfd, 1, static_cast<int>(left.count())) : 0;
    if (ready < 0) continue;  // EINTR
    if (ready == 0) {
      out += "<timed out>";
      break;
    }
    char buf[4096];
    ssize_t n = ::read(p[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(p[0]);
  ::kill(pid, SIGKILL);  // harmless once it has exited
  int status;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return out;
}

std::string connect_result(const std::string& socket) {
  int fd = connect_unix(socket);
  if (fd < 0) return std::string("errno ") + strerrorname_np(-fd);
  ::close(fd);
  return "connected";
}

TEST_F(HerdTest, ControlSocketIsPrivateAndRefusesOtherUids) {
  CommandResult r = herd({"ping"});  // starts the daemon
  ASSERT_EQ(r.exit_code, 0) << r;
  std::string socket = path("herd.sock");
  struct stat st;
  ASSERT_EQ(::stat(home_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u) << std::oct << (st.st_mode & 0777);
  ASSERT_EQ(::stat(socket.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u) << std::oct << (st.st_mode & 0777);
  EXPECT_EQ(st.st_uid, ::geteuid());

  if (::geteuid() != 0) GTEST_SKIP() << "becoming another uid needs root";

  // Another uid cannot even reach the socket.
  EXPECT_EQ(as_nobody([&] { return connect_result(socket); }), "errno EACCES");

  // Opened up by mistake, the daemon still refuses a peer of another uid, with a reason.
  ASSERT_EQ(::chmod(home_.c_str(), 0777), 0);
  ASSERT_EQ(::chmod(socket.c_str(), 0777), 0);
  std::string reply = as_nobody([&] {
    int fd = connect_unix(socket);
    if (fd < 0) return std::string("errno ") + strerrorname_np(-fd);
    std::string request = "{\"id\":1,\"verb\":\"jlist\"}\n";
    [[maybe_unused]] ssize_t n = ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    std::string line = read_line(fd, 10s);
    ::close(fd);
    return line;
  });
  ::chmod(home_.c_str(), 0700);
  ::chmod(socket.c_str(), 0600);
  EXPECT_THAT(reply, HasSubstr("E_PERMISSION"));
  Json j = Json::parse(reply, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << reply;
  EXPECT_EQ(j.value("ok", true), false);
  EXPECT_EQ(j["error"].value("code", ""), "E_PERMISSION");
  EXPECT_THAT(j["error"].value("message", ""), HasSubstr("65534"));  // it names the refused uid

  // Its owner still can.
  r = herd({"ping"});
  EXPECT_EQ(r.exit_code, 0) << r;
}

}  // namespace
}  // namespace herd::e2e
