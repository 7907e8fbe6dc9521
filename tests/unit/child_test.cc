// The tests' own child-process helper (support/child.h): what the child is given, and that no
// child outlives its owner or its parent.
#include "support/child.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "herd/base/fd.h"
#include "support/child_process.h"
#include "support/wait.h"

extern char** environ;

namespace herd {
namespace {

using namespace std::chrono_literals;

std::string inode_of(int fd) {
  struct stat st;
  return ::fstat(fd, &st) == 0 ? std::to_string(st.st_ino) : std::string("closed");
}

// "<inode> cloexec=<0|1>" of a descriptor.
std::string fd_report(int fd) {
  return inode_of(fd) + " cloexec=" + std::to_string((::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
}

std::string link_of(const std::string& path) {
  char buf[PATH_MAX];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof(buf) - 1);
  return n < 0 ? std::string("?") : std::string(buf, static_cast<std::size_t>(n));
}

// Reports what the child got, one "name=value" line each.
bool report_role = test::register_role("child_report", [](int, char**) {
  const char* listen_pid = std::getenv("LISTEN_PID");
  std::printf("pid=%d\nLISTEN_PID=%s\n", ::getpid(), listen_pid != nullptr ? listen_pid : "");
  std::printf("fd3=%s\nfd4=%s\n", fd_report(3).c_str(), fd_report(4).c_str());
  std::printf("stdin=%s\n", link_of("/proc/self/fd/0").c_str());
  sigset_t mask;
  ::sigprocmask(SIG_BLOCK, nullptr, &mask);
  std::printf("usr1_blocked=%d\n", sigismember(&mask, SIGUSR1));
  std::size_t count = 0;
  for (char** e = environ; *e != nullptr; ++e, ++count) {
    std::string entry(*e);
    if (entry.starts_with("CHILD_TEST_") || entry.starts_with("ONLY=")) {
      std::printf("env %s\n", entry.c_str());
    }
  }
  std::printf("env count=%zu\n", count);
  return 0;
});

bool block_role = test::register_role("child_block", [](int, char**) {
  std::printf("blocking\n");
  std::fflush(stdout);
  for (;;) ::pause();
  return 0;
});

// Starts a child_block child, says its pid and exits without reaping or killing it.
bool orphan_role = test::register_role("child_orphan", [](int, char**) {
  static test::Child child;  // never destroyed (_exit): the kernel must end the grandchild
  if (!child.start(test::self_spec("child_block"))) return 1;
  std::printf("grandchild=%d\n", child.pid());
  std::fflush(stdout);
  ::_exit(0);
});

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

// Gone, or a zombie nobody reaps (a container's init may not).
bool ended(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  auto close = line.rfind(')');
  return close != std::string::npos && line.substr(close + 2, 1) == "Z";
}

TEST(Child, PlacesDescriptorsWritesItsOwnPidAndClearsTheMask) {
  auto a = *Fd::pipe();
  auto b = *Fd::pipe();
  test::ChildSpec spec = test::self_spec("child_report");
  spec.fds = {b.first.get(), a.first.get()};  // not in the order they were made
  spec.listen_pid = true;
  sigset_t usr1, old;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &usr1, &old), 0);
  test::RunResult r = test::run(spec, 20s);
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ASSERT_TRUE(r.exited) << r;
  EXPECT_EQ(r.exit_code, 0) << r;
  auto at = r.out.find("pid=");
  ASSERT_NE(at, std::string::npos) << r;
  std::string pid = r.out.substr(at + 4, r.out.find('\n', at) - at - 4);
  EXPECT_TRUE(has_line(r.out, "LISTEN_PID=" + pid)) << r;
  // Placed at 3 and 4 and inheritable there (the sources are CLOEXEC).
  EXPECT_TRUE(has_line(r.out, "fd3=" + inode_of(b.first.get()) + " cloexec=0")) << r;
  EXPECT_TRUE(has_line(r.out, "fd4=" + inode_of(a.first.get()) + " cloexec=0")) << r;
  EXPECT_TRUE(has_line(r.out, "stdin=/dev/null")) << r;
  EXPECT_TRUE(has_line(r.out, "usr1_blocked=0")) << r;
}

TEST(Child, EnvironmentIsInheritedMinusRemovalsWithAdditionsReplacingKeys) {
  ::setenv("CHILD_TEST_KEPT", "inherited", 1);
  ::setenv("CHILD_TEST_DROPPED", "inherited", 1);
  ::setenv("CHILD_TEST_REPLACED", "inherited", 1);
  test::ChildSpec spec = test::self_spec("child_report");
  spec.env_remove = {"CHILD_TEST_DROPPED="};
  spec.env.push_back("CHILD_TEST_REPLACED=added");
  test::RunResult r = test::run(spec, 20s);
  for (const char* name : {"CHILD_TEST_KEPT", "CHILD_TEST_DROPPED", "CHILD_TEST_REPLACED"}) {
    ::unsetenv(name);
  }
  ASSERT_TRUE(r.exited) << r;
  EXPECT_TRUE(has_line(r.out, "env CHILD_TEST_KEPT=inherited")) << r;
  EXPECT_EQ(r.out.find("CHILD_TEST_DROPPED"), std::string::npos) << r;
  EXPECT_TRUE(has_line(r.out, "env CHILD_TEST_REPLACED=added")) << r;
  EXPECT_EQ(r.out.find("CHILD_TEST_REPLACED=inherited"), std::string::npos) << r;
  EXPECT_TRUE(has_line(r.out, "LISTEN_PID=")) << r;  // not asked for

  spec.inherit_env = false;
  spec.env = {"HERD_TEST_ROLE=child_report", "ONLY=1"};
  r = test::run(spec, 20s);
  ASSERT_TRUE(r.exited) << r;
  EXPECT_TRUE(has_line(r.out, "env ONLY=1")) << r;
  EXPECT_TRUE(has_line(r.out, "env count=2")) << r;
}

TEST(Child, AFailedExecExits127) {
  test::ChildSpec spec;
  spec.argv = {"/nonexistent/program"};
  test::RunResult r = test::run(spec, 20s);
  ASSERT_TRUE(r.exited) << r;
  EXPECT_EQ(r.exit_code, 127);
}

TEST(Child, RunKillsAChildThatOutlivesTheDeadline) {
  test::RunResult r = test::run(test::self_spec("child_block"), 300ms);
  EXPECT_TRUE(r.timed_out);
  EXPECT_FALSE(r.exited);
  EXPECT_EQ(r.term_signal, SIGKILL);
  EXPECT_EQ(r.code(), std::nullopt);
  EXPECT_EQ(r.out, "blocking\n");
}

TEST(Child, TheDestructorKillsAndReaps) {
  pid_t pid;
  {
    test::Child child;
    ASSERT_TRUE(child.start(test::self_spec("child_block")));
    pid = child.pid();
    ASSERT_TRUE(child.wait_output([](const std::string& out) { return out == "blocking\n"; }, 20s));
    EXPECT_TRUE(child.running());
    EXPECT_FALSE(child.try_reap());
  }
  EXPECT_EQ(::kill(pid, 0), -1);  // not even a zombie
  EXPECT_EQ(errno, ESRCH);
}

TEST(Child, WaitExitDoesNotWaitForWhatStillHoldsThePipes) {
  auto hold = *Fd::pipe();
  test::ChildSpec spec;
  // A background cat keeps stdout open until the test closes the write end of `hold`.
  spec.argv = {"/bin/sh", "-c", "echo started; cat <&3 &"};
  spec.fds = {hold.first.get()};
  spec.inherit_env = false;
  test::Child child;
  ASSERT_TRUE(child.start(spec));
  ASSERT_TRUE(child.wait_exit(20s)) << child.result();
  EXPECT_EQ(child.code(), 0);
  EXPECT_EQ(child.out(), "started\n");
  hold.second.reset();  // the cat ends
}

TEST(Child, DiesWithItsParent) {
  test::Child parent;
  ASSERT_TRUE(parent.start(test::self_spec("child_orphan")));
  ASSERT_TRUE(parent.wait_exit(20s)) << parent.result();
  auto at = parent.out().find("grandchild=");
  ASSERT_NE(at, std::string::npos) << parent.result();
  pid_t grandchild = std::stoi(parent.out().substr(at + 11));
  EXPECT_TRUE(test::wait_for([&] { return ended(grandchild); }, 20s));
}

}  // namespace
}  // namespace herd
