// The spawner the socket-activation and sd_notify tests share: run_self() cannot place descriptors
// at fixed numbers or write the child's own pid into its environment, and both are the point there.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "support/child_process.h"
#include "support/temp_dir.h"
#include "support/wait.h"

extern char** environ;

namespace herd {
namespace {

enum class ListenPid { kNone, kChild };

struct Outcome {
  bool exited = false;
  int exit_code = -1;
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Runs this binary as `role` with `args`, the current environment minus LISTEN_*, NOTIFY_SOCKET
// and HERD_LOG_LEVEL plus `env`, and `fds[i]` at descriptor 3 + i (inheritable). With
// ListenPid::kChild, LISTEN_PID is set to the child's pid between fork and exec.
inline Outcome spawn_activated(const std::string& role, const std::vector<std::string>& env,
                               const std::vector<int>& fds, ListenPid listen_pid,
                               const std::vector<std::string>& args = {},
                               std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  Outcome result;
  std::vector<std::string> env_store;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view v(*e);
    if (v.starts_with("LISTEN_") || v.starts_with("NOTIFY_SOCKET=") ||
        v.starts_with("HERD_TEST_ROLE=") || v.starts_with("HERD_LOG_LEVEL=")) {
      continue;
    }
    env_store.emplace_back(v);
  }
  env_store.push_back("HERD_TEST_ROLE=" + role);
  for (const auto& e : env) env_store.push_back(e);
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(e.data());
  // Filled in by the child: it is the only one that knows its pid before exec.
  char pid_entry[40] = "LISTEN_PID=";
  if (listen_pid == ListenPid::kChild) envp.push_back(pid_entry);
  envp.push_back(nullptr);

  std::string exe = test::self_exe();
  std::vector<std::string> argv_store{exe};
  argv_store.insert(argv_store.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_store) argv.push_back(a.data());
  argv.push_back(nullptr);

  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) < 0) return result;
  if (::pipe2(err, O_CLOEXEC) < 0) {
    ::close(out[0]);
    ::close(out[1]);
    return result;
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    // Only async-signal-safe calls from here on. Move every source above the targets first, so
    // that placing one cannot overwrite another that happens to sit at 3, 4, ...
    constexpr int kHigh = 200;
    int out_w = ::fcntl(out[1], F_DUPFD_CLOEXEC, kHigh);
    int err_w = ::fcntl(err[1], F_DUPFD_CLOEXEC, kHigh);
    int high[16];
    std::size_t n = fds.size() < 16 ? fds.size() : 16;
    for (std::size_t i = 0; i < n; ++i) high[i] = ::fcntl(fds[i], F_DUPFD_CLOEXEC, kHigh);
    ::dup2(out_w, STDOUT_FILENO);
    ::dup2(err_w, STDERR_FILENO);
    for (std::size_t i = 0; i < n; ++i) ::dup2(high[i], 3 + static_cast<int>(i));  // no CLOEXEC
    if (listen_pid == ListenPid::kChild) {
      char digits[24];
      int len = 0;
      for (pid_t p = ::getpid(); p > 0; p /= 10) digits[len++] = static_cast<char>('0' + p % 10);
      char* w = pid_entry + std::strlen("LISTEN_PID=");
      while (len > 0) *w++ = digits[--len];
      *w = '\0';
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(exe.c_str(), argv.data(), envp.data());
    ::_exit(126);
  }
  ::close(out[1]);
  ::close(err[1]);
  if (pid < 0) {
    ::close(out[0]);
    ::close(err[0]);
    return result;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd p[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_pipes = 2;
  while (open_pipes > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    int r = ::poll(p, 2, static_cast<int>(left.count()));
    if (r <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (p[i].fd < 0 || p[i].revents == 0) continue;
      char buf[4096];
      ssize_t got = ::read(p[i].fd, buf, sizeof(buf));
      if (got > 0) {
        sinks[i]->append(buf, static_cast<std::size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        p[i].fd = -1;  // poll ignores negative descriptors
        --open_pipes;
      }
    }
  }
  ::close(out[0]);
  ::close(err[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && !result.timed_out) {
    result.exited = true;
    result.exit_code = WEXITSTATUS(status);
  }
  return result;
}

inline bool cloexec(int fd) { return (::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0; }

using test::TempDir;

}  // namespace
}  // namespace herd
