#include "daemon/spawn.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <set>
#include <sstream>
#include <string>

#include "daemon/state_file.h"
#include "herd/base/fd.h"

namespace herd::manager {
namespace {

std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

int wait_exit(pid_t pid) {
  int st = 0;
  ::waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(Spawn, RunsWithEnvCwdAndOutput) {
  auto out = Fd::pipe();
  ASSERT_TRUE(out.has_value());
  SpawnOptions o;
  o.argv = {"sh", "-c", "echo \"$GREETING $(pwd)\"; echo oops >&2"};
  o.env = {"GREETING=hi", "PATH=/usr/bin:/bin"};
  o.cwd = "/tmp";
  o.stdout_fd = out->second.get();
  auto pid = spawn(o);
  ASSERT_TRUE(pid.has_value()) << pid.error().message();
  out->second.reset();
  EXPECT_EQ(read_all(out->first.get()), "hi /tmp\n");
  EXPECT_EQ(wait_exit(*pid), 0);
  EXPECT_EQ(::getpgid(*pid), -1);  // reaped; while alive it led its own group (checked below)
}

TEST(Spawn, ChildLeadsItsOwnProcessGroup) {
  auto out = Fd::pipe();
  ASSERT_TRUE(out.has_value());
  SpawnOptions o;
  o.argv = {"sh", "-c", "ps -o pgid= -p $$"};
  o.env = {"PATH=/usr/bin:/bin"};
  o.stdout_fd = out->second.get();
  auto pid = spawn(o);
  ASSERT_TRUE(pid.has_value());
  out->second.reset();
  std::string pgid = read_all(out->first.get());
  EXPECT_EQ(std::stoi(pgid), *pid);
  wait_exit(*pid);
}

// The child writes its own pid into each cgroup.procs it is given, before exec: here two plain
// files stand for the files of two hierarchies. A file it cannot write fails the spawn by name.
TEST(Spawn, ChildJoinsItsCgroupsBeforeExec) {
  char dir[] = "/tmp/herd-spawn-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  std::string a = std::string(dir) + "/a.procs", b = std::string(dir) + "/b.procs";
  auto fa = Fd::open(a.c_str(), O_WRONLY | O_CREAT, 0600);
  auto fb = Fd::open(b.c_str(), O_WRONLY | O_CREAT, 0600);
  ASSERT_TRUE(fa && fb);
  auto out = Fd::pipe();
  ASSERT_TRUE(out.has_value());
  SpawnOptions o;
  // The files were written before the program ran.
  o.argv = {"sh", "-c", "cat \"$0\" \"$1\"", a, b};
  o.env = {"PATH=/usr/bin:/bin"};
  o.stdout_fd = out->second.get();
  o.cgroup_procs_fds = {fa->get(), fb->get()};
  auto pid = spawn(o);
  ASSERT_TRUE(pid.has_value()) << pid.error().message();
  out->second.reset();
  std::string text = read_all(out->first.get());
  std::string p = std::to_string(*pid);
  EXPECT_EQ(text, p + p) << text;
  wait_exit(*pid);

  auto ro = Fd::open(a.c_str(), O_RDONLY);
  ASSERT_TRUE(ro);
  o.cgroup_procs_fds = {ro->get()};
  auto failed = spawn(o);
  ASSERT_FALSE(failed.has_value());
  EXPECT_NE(failed.error().message().find("joining the instance's cgroup"), std::string::npos)
      << failed.error().message();
  ::unlink(a.c_str());
  ::unlink(b.c_str());
  ::rmdir(dir);
}

TEST(Spawn, ExecFailureIsReportedNotACrash) {
  SpawnOptions o;
  o.argv = {"/nonexistent/herd-app"};
  auto pid = spawn(o);
  ASSERT_FALSE(pid.has_value());
  EXPECT_EQ(pid.error().code(), ENOENT);
  EXPECT_EQ(pid.error().message(), "exec /nonexistent/herd-app: No such file or directory");
}

TEST(Spawn, BadWorkingDirectoryIsNamed) {
  SpawnOptions o;
  o.argv = {"true"};
  o.env = {"PATH=/usr/bin:/bin"};
  o.cwd = "/nonexistent-dir";
  auto pid = spawn(o);
  ASSERT_FALSE(pid.has_value());
  EXPECT_EQ(pid.error().message(), "working directory /nonexistent-dir: No such file or directory");
}

TEST(Spawn, ListenFdsArePlacedFromThreeWithOwnPid) {
  // Two sockets plus an IPC end: the child sees them at 3, 4, 5, and nothing else leaks.
  auto a = Fd::socket(AF_INET, SOCK_STREAM);
  auto b = Fd::socket(AF_INET, SOCK_STREAM);
  auto ipc = Fd::socketpair(AF_UNIX, SOCK_STREAM);
  auto out = Fd::pipe();
  auto extra = Fd::open("/dev/null", O_RDONLY);  // CLOEXEC: must not reach the child
  ASSERT_TRUE(a && b && ipc && out && extra);
  SpawnOptions o;
  o.argv = {"sh", "-c",
            "echo \"$LISTEN_FDS $LISTEN_FDNAMES $NODE_CHANNEL_FD $LISTEN_PID $$\"; "
            "exec ls -1 /proc/self/fd"};
  o.env = {"PATH=/usr/bin:/bin"};
  o.stdout_fd = out->second.get();
  o.listen_fds = {a->get(), b->get()};
  o.listen_names = {"web", "admin"};
  o.ipc_fd = ipc->second.get();
  auto pid = spawn(o);
  ASSERT_TRUE(pid.has_value());
  out->second.reset();
  std::string got = read_all(out->first.get());
  wait_exit(*pid);
  std::string first_line = got.substr(0, got.find('\n'));
  std::string expect = "2 web:admin 5 " + std::to_string(*pid) + " " + std::to_string(*pid);
  EXPECT_EQ(first_line, expect);
  // 0-2, the three passed descriptors, what this process itself inherited without CLOEXEC (a
  // test runner's), and the one `ls` opens for the directory: nothing else.
  std::set<int> child;
  std::istringstream lines(got.substr(got.find('\n') + 1));
  for (int fd; lines >> fd;) child.insert(fd);
  for (int fd : {0, 1, 2, 3, 4, 5}) EXPECT_EQ(child.erase(fd), 1u) << fd;
  for (int fd = 6; fd < 1024; ++fd) {
    int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0 && !(flags & FD_CLOEXEC)) child.erase(fd);
  }
  EXPECT_LE(child.size(), 1u);
  EXPECT_EQ(child.count(extra->get()) != 0 && extra->get() > 6, false);
}

TEST(Spawn, SignalMaskIsResetInTheChild) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  auto out = Fd::pipe();
  ASSERT_TRUE(out.has_value());
  SpawnOptions o;
  o.argv = {"sh", "-c", "exec grep SigBlk /proc/self/status"};
  o.env = {"PATH=/usr/bin:/bin"};
  o.stdout_fd = out->second.get();
  auto pid = spawn(o);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ASSERT_TRUE(pid.has_value());
  out->second.reset();
  EXPECT_EQ(read_all(out->first.get()), "SigBlk:\t0000000000000000\n");
  wait_exit(*pid);
}

TEST(StateFile, AtomicWriteKeepsBackup) {
  char tmpl[] = "/tmp/herd-state-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string path = std::string(tmpl) + "/dump.json";
  ASSERT_TRUE(write_file_atomic(path, "one", true).has_value());
  ASSERT_TRUE(write_file_atomic(path, "two", true).has_value());
  EXPECT_EQ(*read_file(path), "two");
  EXPECT_EQ(*read_file(path + ".bak"), "one");
  EXPECT_FALSE(read_file(path + ".tmp").has_value());
  auto bad = write_file_atomic("/nonexistent-dir/x.json", "x", true);
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("/nonexistent-dir/x.json.tmp"), std::string::npos);
  ::unlink(path.c_str());
  ::unlink((path + ".bak").c_str());
  ::rmdir(tmpl);
}

// A pid file's replacement: whole, through a temp file, never written through a symlink.
TEST(StateFile, ReplaceWritesWholeWithoutBackupOrLeftover) {
  char tmpl[] = "/tmp/herd-state-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string path = std::string(tmpl) + "/app-0.pid";
  std::string target = std::string(tmpl) + "/elsewhere";
  ASSERT_EQ(::symlink(target.c_str(), path.c_str()), 0);
  ASSERT_TRUE(write_file_replace(path, "123").has_value());
  ASSERT_TRUE(write_file_replace(path, "4567").has_value());
  EXPECT_EQ(*read_file(path), "4567");
  EXPECT_FALSE(read_file(target).has_value()) << "the symlink's target was written";
  EXPECT_FALSE(read_file(path + ".bak").has_value());
  EXPECT_FALSE(read_file(path + ".tmp").has_value());
  auto bad = write_file_replace("/nonexistent-dir/x.pid", "1");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("/nonexistent-dir/x.pid.tmp"), std::string::npos);
  ::unlink(path.c_str());
  ::rmdir(tmpl);
}

}  // namespace
}  // namespace herd::manager
