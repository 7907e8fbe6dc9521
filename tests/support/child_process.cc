#include "support/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <map>

namespace herd::test {
namespace {

std::map<std::string, std::function<int(int, char**)>>& roles() {
  static std::map<std::string, std::function<int(int, char**)>> r;
  return r;
}

}  // namespace

bool register_role(const std::string& name, std::function<int(int argc, char** argv)> fn) {
  roles()[name] = std::move(fn);
  return true;
}

bool run_role_if_requested(int argc, char** argv, int* exit_code) {
  const char* role = std::getenv("HERD_TEST_ROLE");
  if (role == nullptr || *role == '\0') return false;
  auto it = roles().find(role);
  if (it == roles().end()) {
    *exit_code = 127;
    return true;
  }
  *exit_code = it->second(argc, argv);
  return true;
}

std::string self_exe() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n < 0) return {};
  return std::string(buf, static_cast<size_t>(n));
}

ChildResult run_self(const std::string& role, const std::vector<std::string>& args,
                     std::chrono::milliseconds timeout, const std::vector<int>& keep_fds) {
  ChildResult result;
  int out[2];
  if (::pipe2(out, O_CLOEXEC) < 0) return result;
  std::string exe = self_exe();
  std::vector<std::string> argv_store;
  argv_store.push_back(exe);
  for (const auto& a : args) argv_store.push_back(a);
  std::vector<char*> argv;
  for (auto& a : argv_store) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string role_env = "HERD_TEST_ROLE=" + role;

  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    for (int fd : keep_fds) {
      int flags = ::fcntl(fd, F_GETFD);
      if (flags >= 0) ::fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::putenv(role_env.data());
    ::execv(exe.c_str(), argv.data());
    ::_exit(126);
  }
  ::close(out[1]);
  if (pid < 0) {
    ::close(out[0]);
    return result;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    pollfd p{out[0], POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    ssize_t n = ::read(out[0], buf, sizeof(buf));
    if (n > 0) {
      result.output.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;  // EOF: the child closed stdout (usually by exiting)
  }
  ::close(out[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && !result.timed_out) {
    result.exited = true;
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.term_signal = WTERMSIG(status);
  }
  return result;
}

}  // namespace herd::test
