#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <iterator>

#include "cluster/internal.h"

extern char** environ;

namespace herd::cluster::detail {
namespace {

bool dropped_from_env(std::string_view entry) {
  for (std::string_view prefix :
       {"LISTEN_PID=", "LISTEN_FDS=", "LISTEN_FDNAMES=", "NOTIFY_SOCKET=", "HERD_CLUSTER_"}) {
    if (entry.starts_with(prefix)) return true;
  }
  return false;
}

// The child between fork and exec: async-signal-safe calls only.
[[noreturn]] void child(const char* exe, char* const* argv, char* const* envp, int channel,
                        int error_fd, pid_t parent) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // The primary may have died between fork and prctl: then nobody would kill this worker.
  if (::getppid() != parent) ::_exit(127);
  // The error pipe must not sit where the channel goes.
  int err = ::fcntl(error_fd, F_DUPFD_CLOEXEC, 10);
  if (channel == kChannelFd) {
    ::fcntl(channel, F_SETFD, 0);
  } else {
    ::dup2(channel, kChannelFd);  // dup2 leaves FD_CLOEXEC clear on the copy
  }
  // Signals: defaults and an empty mask, whatever the primary's loop had blocked or caught.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; ++s) {
    if (s == SIGKILL || s == SIGSTOP) continue;
    ::sigaction(s, &dfl, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(exe, argv, envp);
  int code = errno;
  ssize_t ignored = ::write(err, &code, sizeof(code));
  (void)ignored;
  ::_exit(127);
}

}  // namespace

Result<std::vector<std::string>> own_argv() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  if (!in) return fail(errno ? errno : EIO, "read /proc/self/cmdline");
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> argv;
  std::size_t at = 0;
  while (at < all.size()) {
    std::size_t end = all.find('\0', at);
    if (end == std::string::npos) end = all.size();
    argv.push_back(all.substr(at, end - at));
    at = end + 1;
  }
  if (argv.empty()) return fail(EINVAL, "read /proc/self/cmdline: empty");
  return argv;
}

Result<std::string> own_exe() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n < 0) return fail_errno("readlink /proc/self/exe");
  std::string path(buf, static_cast<std::size_t>(n));
  // The binary was replaced since this process started: the new one at the same path is meant.
  constexpr std::string_view kDeleted = " (deleted)";
  if (path.ends_with(kDeleted)) path.resize(path.size() - kDeleted.size());
  return path;
}

Result<Spawned> spawn(const std::string& exe, const std::vector<std::string>& argv,
                      const std::vector<std::string>& env, const Fd& channel) {
  std::vector<std::string> env_store;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!dropped_from_env(*e)) env_store.emplace_back(*e);
  }
  env_store.insert(env_store.end(), env.begin(), env.end());
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_store = argv;
  std::vector<char*> args;
  for (auto& a : argv_store) args.push_back(a.data());
  args.push_back(nullptr);

  auto pipe = Fd::pipe();
  if (!pipe) return std::unexpected(pipe.error());
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return fail_errno("fork a worker");
  if (pid == 0)
    child(exe.c_str(), args.data(), envp.data(), channel.get(), pipe->second.get(), parent);

  pipe->second.reset();
  int code = 0;
  ssize_t n;
  do {
    n = ::read(pipe->first.get(), &code, sizeof(code));
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof(code))) {
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    errno = code;
    return fail_errno("exec " + exe);
  }
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    Error error = Error::from_errno("pidfd_open");
    ::kill(pid, SIGKILL);
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return std::unexpected(error);
  }
  return Spawned{pid, Fd(pidfd)};
}

}  // namespace herd::cluster::detail
