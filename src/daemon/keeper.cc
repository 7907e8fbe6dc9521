#include "daemon/keeper.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "daemon/state_file.h"

namespace herd::manager {
namespace {

constexpr int kMaxCrashes = 5;
constexpr std::chrono::seconds kCrashWindow{60};

// One line in herd.log's format ("herd[pid] level: text"), appended with O_APPEND so that it
// interleaves whole with the daemon's own lines.
void say(const std::string& log_path, const char* level, const std::string& text) {
  std::string line = fmt::format("herd[{}] {}: keeper: {}\n", ::getpid(), level, text);
  int fd = log_path.empty() ? 2
                            : ::open(log_path.c_str(),
                                     O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return;
  [[maybe_unused]] ssize_t n = ::write(fd, line.data(), line.size());
  if (fd != 2) ::close(fd);
}

// This process's children, from /proc (the orphans re-parented to us, and the daemon).
std::vector<pid_t> children() {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    pid_t pid = std::atoi(e->d_name);
    if (pid <= 0) continue;
    char path[64];
    std::snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    char buf[512];
    ssize_t n = ::read(fd, buf, sizeof(buf) - 1);
    ::close(fd);
    if (n <= 0) continue;
    buf[n] = '\0';
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses; the last ')' ends it.
    const char* close = std::strrchr(buf, ')');
    if (close == nullptr) continue;
    char state = 0;
    int ppid = 0;
    if (std::sscanf(close + 1, " %c %d", &state, &ppid) == 2 && ppid == ::getpid()) {
      out.push_back(pid);
    }
  }
  ::closedir(d);
  return out;
}

void reap_all() {
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

// Kills and reaps every child until none has appeared for a while (the programs a dead shell
// wrapper leaves behind are re-parented to us a moment after it dies). Returns how many it killed.
int kill_orphans() {
  int killed = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  auto quiet_since = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() < deadline) {
    reap_all();
    std::vector<pid_t> left = children();
    if (left.empty()) {
      if (std::chrono::steady_clock::now() - quiet_since > std::chrono::milliseconds(300)) break;
    } else {
      for (pid_t p : left) {
        if (::kill(p, SIGKILL) == 0) ++killed;
      }
      quiet_since = std::chrono::steady_clock::now();
    }
    timespec ts{0, 20 * 1000 * 1000};
    ::nanosleep(&ts, nullptr);
  }
  reap_all();
  return killed;
}

std::string how_it_ended(int status) {
  if (WIFSIGNALED(status)) {
    const char* name = ::sigabbrev_np(WTERMSIG(status));
    return fmt::format("was killed by SIG{}", name != nullptr ? name : "?");
  }
  return fmt::format("exited with code {}", WEXITSTATUS(status));
}

// Waits for the daemon `pid` to end, passing on the stop signals in `wanted` and reaping every
// other child meanwhile; returns the daemon's wait status.
int wait_for_daemon(pid_t pid, const sigset_t& wanted) {
  for (;;) {
    siginfo_t info;
    int sig = ::sigwaitinfo(&wanted, &info);
    if (sig < 0) continue;  // EINTR
    if (sig != SIGCHLD) {
      ::kill(pid, sig);  // a graceful stop of every app; its exit ends us
      continue;
    }
    pid_t reaped = 0;
    int st = 0;
    bool daemon_gone = false;
    int status = 0;
    while ((reaped = ::waitpid(-1, &st, WNOHANG)) > 0) {
      if (reaped == pid) {
        daemon_gone = true;
        status = st;
      }
    }
    if (daemon_gone) return status;
  }
}

// After a clean stop: the daemon stopped every app before it exited; whatever an app left
// re-parented to us goes now, without waiting for stragglers (a new daemon may be waiting for
// the lock).
void stop_leftovers(const std::string& log_path) {
  reap_all();
  std::vector<pid_t> left = children();
  for (pid_t p : left) ::kill(p, SIGKILL);
  reap_all();
  if (!left.empty()) {
    say(log_path, "warn", fmt::format("stopped {} leftover process(es)", left.size()));
  }
}

// How one daemon ended: its pid, its wait status, whether it said it serves.
struct DaemonEnd {
  pid_t pid = 0;
  int status = 0;
  bool started = false;
};

// Forks one daemon (`previous`: the one it replaces) and waits for its end, with `wanted`
// blocked and passed on; nullopt when it could not be forked (said in the log).
std::optional<DaemonEnd> run_once(const std::string& log_path,
                                  const std::function<int(const DaemonStart&)>& daemon,
                                  pid_t previous, const sigset_t& wanted, const sigset_t& old) {
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) < 0) {
    say(log_path, "error", fmt::format("pipe: {}", std::strerror(errno)));
    return std::nullopt;
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    say(log_path, "error", fmt::format("fork the daemon: {}", std::strerror(errno)));
    ::close(ready[0]);
    ::close(ready[1]);
    return std::nullopt;
  }
  if (pid == 0) {
    ::close(ready[0]);
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    // std::exit unwinds no stack: the keeper's pid file is not the daemon's to remove.
    std::exit(daemon(DaemonStart{previous, ready[1]}));
  }
  ::close(ready[1]);
  int ready_fd = ready[0];
  ::fcntl(ready_fd, F_SETFL, O_NONBLOCK);
  DaemonEnd end;
  end.pid = pid;
  end.status = wait_for_daemon(pid, wanted);
  char byte;
  end.started = ::read(ready_fd, &byte, 1) == 1;  // EOF: it died before it served
  ::close(ready_fd);
  return end;
}

}  // namespace

int run_keeper(const std::string& log_path, const std::string& pid_path,
               const std::function<std::string()>& home_gone,
               const std::function<int(const DaemonStart&)>& daemon) {
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  if (Status s = write_file_atomic(pid_path, std::to_string(::getpid()) + "\n", false); !s) {
    say(log_path, "warn", s.error().message());
  }
  // The pid file goes with the keeper, however its loop ends (unless the home went away: the
  // path may name another keeper's file by then).
  struct RemovePid {
    const std::string& path;
    const std::function<std::string()>& home_gone;
    ~RemovePid() {
      if (home_gone().empty()) ::unlink(path.c_str());
    }
  } remove_pid{pid_path, home_gone};
  sigset_t wanted, old;
  sigemptyset(&wanted);
  for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&wanted, s);
  ::sigprocmask(SIG_BLOCK, &wanted, &old);

  std::deque<std::chrono::steady_clock::time_point> crashes;
  pid_t previous = 0;
  for (;;) {
    auto end = run_once(log_path, daemon, previous, wanted, old);
    if (!end) return 1;
    auto [pid, status, started] = *end;
    bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (clean) {
      stop_leftovers(log_path);
      return 0;
    }
    int killed = kill_orphans();
    if (std::string why = home_gone(); !why.empty()) {
      // Said on stderr only: in the background that is the herd.log the keeper opened, which
      // went with the home; a herd.log at the same path now is another home's.
      say("", "error",
          fmt::format("the daemon (pid {}) {}, and {}: not starting another one; stopped {} app "
                      "process(es) it left",
                      pid, how_it_ended(status), why, killed));
      return 1;
    }
    if (!started) {
      // It could not start (a bad option, another daemon's lock, an unusable home): said in its
      // own lines already; starting it again would fail the same way.
      return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    }
    auto now = std::chrono::steady_clock::now();
    crashes.push_back(now);
    while (!crashes.empty() && now - crashes.front() > kCrashWindow) crashes.pop_front();
    if (static_cast<int>(crashes.size()) >= kMaxCrashes) {
      say(log_path, "error",
          fmt::format("the daemon (pid {}) {}; it died {} times within {} s, so it is not started "
                      "again; {} app process(es) it left were stopped",
                      pid, how_it_ended(status), crashes.size(), kCrashWindow.count(), killed));
      return 1;
    }
    say(log_path, "error",
        fmt::format("the daemon (pid {}) {}; stopped the {} app process(es) it left behind and "
                    "starting a new daemon, which restores what was running",
                    pid, how_it_ended(status), killed));
    previous = pid;
  }
}

}  // namespace herd::manager
