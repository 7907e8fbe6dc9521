#include "daemon/spawn.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "daemon/descriptor_limit.h"
#include "herd/base/fd.h"

namespace herd::manager {
namespace {

// Everything the child needs, built before fork: after fork only async-signal-safe calls are
// allowed (the daemon may have other threads), so the child must not allocate.
struct Prepared {
  std::vector<std::string> env_store;
  std::vector<char*> argv;
  std::vector<char*> envp;
  // "LISTEN_PID=", "HERD_BIND_PID=" and "WATCHDOG_PID=" with room for digits, patched in the child.
  std::size_t listen_pid_index = static_cast<std::size_t>(-1);
  std::size_t bind_pid_index = static_cast<std::size_t>(-1);
  std::size_t watchdog_pid_index = static_cast<std::size_t>(-1);
};

constexpr std::string_view kPidRoom = "00000000000000000000";

// Writes `value` in decimal into `out` (NUL-terminated). Async-signal-safe.
void write_decimal(char* out, long value) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value > 0);
  while (n > 0) *out++ = tmp[--n];
  *out = '\0';
}

enum Stage : int { kSetup = 1, kChdir = 2, kExec = 3, kIdentity = 4, kCgroup = 5 };

[[noreturn]] void child_fail(int report_fd, int err, Stage stage = kSetup) {
  // Best effort: the parent reads {stage, errno}, or EOF when exec succeeded.
  int msg[2] = {stage, err};
  [[maybe_unused]] ssize_t r = ::write(report_fd, msg, sizeof(msg));
  ::_exit(127);
}

[[noreturn]] void run_child(const SpawnOptions& o, Prepared& p, int report_fd, pid_t parent) {
  if (o.die_with_parent) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    // The daemon may have died between fork() and prctl(): then we were re-parented already.
    if (::getppid() != parent) ::_exit(1);
  }
  ::setpgid(0, 0);
  apply_app_descriptor_limit();  // the limit herd was started with, not the daemon's raised one
  // Into the instance's cgroup before the descriptors move (placing them could overwrite
  // these) and while still root (the files are the daemon's).
  if (!o.cgroup_procs_fds.empty()) {
    char pid_text[24];
    write_decimal(pid_text, static_cast<long>(::getpid()));
    std::size_t len = std::strlen(pid_text);
    for (int fd : o.cgroup_procs_fds) {
      if (::write(fd, pid_text, len) < 0) child_fail(report_fd, errno, kCgroup);
    }
  }

  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; ++s) {
    if (s != SIGKILL && s != SIGSTOP) ::sigaction(s, &dfl, nullptr);
  }

  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0) child_fail(report_fd, errno);

  // Move every descriptor we place above the target range first, so that placing one never
  // overwrites another that is still to be placed.
  std::size_t n_listen = o.listen_fds.size();
  int staged[64];
  std::size_t total = 0;
  if (n_listen + 3 > 60) child_fail(report_fd, EMFILE);
  for (std::size_t i = 0; i < n_listen; ++i) staged[total++] = o.listen_fds[i];
  if (o.ipc_fd >= 0) staged[total++] = o.ipc_fd;
  if (o.bind_fd >= 0) staged[total++] = o.bind_fd;
  if (o.accept_fd >= 0) staged[total++] = o.accept_fd;
  for (std::size_t i = 0; i < total; ++i) {
    staged[i] = ::fcntl(staged[i], F_DUPFD_CLOEXEC, 100);
    if (staged[i] < 0) child_fail(report_fd, errno);
  }
  int out = o.stdout_fd >= 0 ? ::fcntl(o.stdout_fd, F_DUPFD_CLOEXEC, 100) : devnull;
  int err = o.stderr_fd >= 0 ? ::fcntl(o.stderr_fd, F_DUPFD_CLOEXEC, 100) : devnull;
  if (out < 0 || err < 0) child_fail(report_fd, errno);
  if (::dup2(devnull, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) {
    child_fail(report_fd, errno);
  }
  // dup2 clears FD_CLOEXEC on the copy: these, and only these, survive exec.
  for (std::size_t i = 0; i < total; ++i) {
    if (::dup2(staged[i], static_cast<int>(3 + i)) < 0) child_fail(report_fd, errno);
  }
  // Nothing else reaches the app, whatever the daemon inherited or opened without CLOEXEC.
  // Marked close-on-exec rather than closed: report_fd must stay usable until exec.
  ::close_range(static_cast<unsigned>(3 + total), ~0U, CLOSE_RANGE_CLOEXEC);

  for (std::size_t index : {p.listen_pid_index, p.bind_pid_index, p.watchdog_pid_index}) {
    if (index == static_cast<std::size_t>(-1)) continue;
    char* value = std::strchr(p.envp[index], '=') + 1;
    write_decimal(value, static_cast<long>(::getpid()));
  }
  if (o.switch_identity) {
    // Groups first: once the uid is not root, neither list nor gid may change any more.
    if (::setgroups(o.groups.size(), o.groups.data()) < 0 || ::setgid(o.gid) < 0 ||
        ::setuid(o.uid) < 0) {
      child_fail(report_fd, errno, kIdentity);
    }
  }
  if (!o.cwd.empty() && ::chdir(o.cwd.c_str()) < 0) child_fail(report_fd, errno, kChdir);

  ::execvpe(p.argv[0], p.argv.data(), p.envp.data());
  child_fail(report_fd, errno, kExec);
}

}  // namespace

// The child's environment: the app's, then what herd passes it (sockets, channels, watchdog),
// with the places of the pids the child writes itself.
void prepare_env(const SpawnOptions& o, Prepared* p) {
  p->env_store = o.env;
  std::size_t n_listen = o.listen_fds.size();
  if (n_listen > 0) {
    p->env_store.push_back(fmt::format("LISTEN_FDS={}", n_listen));
    // Room for any pid; the child writes its own.
    p->env_store.push_back(fmt::format("LISTEN_PID={}", kPidRoom));
    std::string names;
    for (std::size_t i = 0; i < n_listen; ++i) {
      if (i > 0) names += ':';
      names += i < o.listen_names.size() ? o.listen_names[i] : "listen";
    }
    p->env_store.push_back("LISTEN_FDNAMES=" + names);
  }
  if (o.ipc_fd >= 0) {
    p->env_store.push_back(fmt::format("NODE_CHANNEL_FD={}", 3 + n_listen));
    p->env_store.push_back("NODE_CHANNEL_SERIALIZATION_MODE=json");
  }
  if (o.bind_fd >= 0) {
    std::size_t at = 3 + n_listen + (o.ipc_fd >= 0 ? 1 : 0);
    p->env_store.push_back(fmt::format("HERD_BIND_FD={}", at));
    p->env_store.push_back(fmt::format("HERD_BIND_PID={}", kPidRoom));
  }
  if (o.accept_fd >= 0) {
    std::size_t at = 3 + n_listen + (o.ipc_fd >= 0 ? 1 : 0) + (o.bind_fd >= 0 ? 1 : 0);
    p->env_store.push_back(fmt::format("HERD_ACCEPT_FD={}", at));
  }
  if (o.watchdog_pid) p->env_store.push_back(fmt::format("WATCHDOG_PID={}", kPidRoom));
  for (std::size_t i = 0; i < p->env_store.size(); ++i) {
    if (p->env_store[i].rfind("LISTEN_PID=", 0) == 0) p->listen_pid_index = i;
    if (p->env_store[i].rfind("HERD_BIND_PID=", 0) == 0) p->bind_pid_index = i;
    if (o.watchdog_pid && p->env_store[i].rfind("WATCHDOG_PID=", 0) == 0) {
      p->watchdog_pid_index = i;
    }
    p->envp.push_back(p->env_store[i].data());
  }
  p->envp.push_back(nullptr);
}

Result<pid_t> spawn(const SpawnOptions& o) {
  if (o.argv.empty() || o.argv[0].empty()) return fail(EINVAL, "spawn: empty command");
  Prepared p;
  for (const auto& a : o.argv) p.argv.push_back(const_cast<char*>(a.c_str()));
  p.argv.push_back(nullptr);

  prepare_env(o, &p);

  auto report = Fd::pipe();
  if (!report) return std::unexpected(report.error());
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return fail_errno(fmt::format("fork for {}", o.argv[0]));
  if (pid == 0) {
    report->first.reset();
    run_child(o, p, report->second.get(), parent);
  }
  report->second.reset();
  // Also set here: whichever of parent and child runs first, the group exists before we signal
  // it (a kill(-pgid) right after spawn must not miss).
  ::setpgid(pid, pid);
  int msg[2] = {0, 0};
  ssize_t n;
  do {
    n = ::read(report->first.get(), msg, sizeof(msg));
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof(msg))) {
    // The child failed before or at exec and exited 127: reap it here, so it never shows up as
    // a crash of a started app.
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    switch (msg[0]) {
      case kChdir:
        return fail(msg[1], fmt::format("working directory {}", o.cwd));
      case kExec:
        return fail(msg[1], fmt::format("exec {}", o.argv[0]));
      case kCgroup:
        return fail(msg[1], "joining the instance's cgroup");
      case kIdentity:
        return fail(msg[1], fmt::format("switching to uid {} gid {}", o.uid, o.gid));
      default:
        return fail(msg[1], fmt::format("preparing the child for {}", o.argv[0]));
    }
  }
  return pid;
}

}  // namespace herd::manager
