#include "support/child.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

extern char** environ;

namespace herd::test {
namespace {

using Clock = std::chrono::steady_clock;

// Descriptors the child can be handed at 3, 4, ... (a fixed bound: the child cannot allocate).
constexpr std::size_t kMaxFds = 16;
// Where the child first moves every descriptor it is to place, above all the targets.
constexpr int kHigh = 200;
// A wait status that is neither an exit nor a signal: for a child reaped elsewhere.
constexpr int kUnknownStatus = 0x7f;

Ms left_until(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<Ms>(deadline - Clock::now());
  return left.count() > 0 ? left : Ms(0);
}

std::string_view key_of(std::string_view entry) { return entry.substr(0, entry.find('=')); }

std::vector<std::string> environment_of(const ChildSpec& spec) {
  std::vector<std::string> env;
  if (spec.inherit_env) {
    for (char** e = environ; *e != nullptr; ++e) {
      std::string_view v(*e);
      bool removed = std::any_of(spec.env_remove.begin(), spec.env_remove.end(),
                                 [&](const std::string& prefix) { return v.starts_with(prefix); });
      if (!removed) env.emplace_back(v);
    }
  }
  for (const auto& add : spec.env) {
    if (spec.inherit_env) {
      std::erase_if(env, [&](const std::string& e) { return key_of(e) == key_of(add); });
    }
    env.push_back(add);
  }
  if (spec.listen_pid) {
    std::erase_if(env, [](const std::string& e) { return key_of(e) == "LISTEN_PID"; });
  }
  return env;
}

// Everything the child needs, built before fork: after it, only async-signal-safe calls.
struct Prepared {
  std::vector<std::string> argv_store, env_store;
  std::vector<char*> argv, envp;
  char pid_entry[40] = "LISTEN_PID=";  // the digits are the child's to write

  explicit Prepared(const ChildSpec& spec)
      : argv_store(spec.argv), env_store(environment_of(spec)) {
    for (auto& a : argv_store) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env_store) envp.push_back(e.data());
    if (spec.listen_pid) envp.push_back(pid_entry);
    envp.push_back(nullptr);
  }
  Prepared(const Prepared&) = delete;
  Prepared& operator=(const Prepared&) = delete;
};

// The descriptors the child's 0, 1 and 2 come from (-1: inherited as they are).
struct Stdio {
  int in = -1, out = -1, err = -1;
};

void write_listen_pid(char* entry) {
  char digits[24];
  int len = 0;
  for (pid_t v = ::getpid(); v > 0; v /= 10) digits[len++] = static_cast<char>('0' + v % 10);
  char* w = entry + std::strlen("LISTEN_PID=");
  while (len > 0) *w++ = digits[--len];
  *w = '\0';
}

// In the child, between fork and exec: async-signal-safe calls only (the test may have threads).
[[noreturn]] void exec_child(const ChildSpec& spec, Prepared& prep, Stdio stdio, pid_t parent) {
  if (spec.die_with_parent) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent is already gone
  }
  // Every source goes above the targets first, so that placing one cannot overwrite another
  // that happens to sit at 0, 1, 2, 3, ...
  int sources[3 + kMaxFds];
  int targets[3 + kMaxFds];
  std::size_t n = 0;
  const int std_sources[3] = {stdio.in, stdio.out, stdio.err};
  for (int target = 0; target < 3; ++target) {
    if (std_sources[target] < 0) continue;
    sources[n] = ::fcntl(std_sources[target], F_DUPFD_CLOEXEC, kHigh);
    targets[n++] = target;
  }
  for (std::size_t i = 0; i < spec.fds.size(); ++i) {
    sources[n] = ::fcntl(spec.fds[i], F_DUPFD_CLOEXEC, kHigh);
    targets[n++] = 3 + static_cast<int>(i);
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (sources[i] < 0 || ::dup2(sources[i], targets[i]) < 0) ::_exit(127);  // dup2: no CLOEXEC
  }
  for (int fd : spec.keep_fds) {
    int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0) ::fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
  }
  if (spec.listen_pid) write_listen_pid(prep.pid_entry);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(prep.argv[0], prep.argv.data(), prep.envp.data());
  ::_exit(127);
}

void close_fd(int* fd) {
  if (*fd >= 0) ::close(*fd);
  *fd = -1;
}

// A pipe for `how` == kCapture: {read end, write end}, both CLOEXEC; {-1, -1} otherwise.
bool capture_pipe(Output how, int ends[2]) {
  ends[0] = ends[1] = -1;
  return how != Output::kCapture || ::pipe2(ends, O_CLOEXEC) == 0;
}

}  // namespace

std::optional<int> RunResult::code() const {
  if (timed_out) return std::nullopt;
  if (exited) return exit_code;
  if (term_signal != 0) return 128 + term_signal;
  return std::nullopt;
}

std::ostream& operator<<(std::ostream& os, const RunResult& r) {
  os << "[exit " << r.exit_code;
  if (r.term_signal != 0) os << ", signal " << r.term_signal;
  if (r.timed_out) os << ", TIMED OUT";
  return os << "]\n--- stdout ---\n" << r.out << "--- stderr ---\n" << r.err << "---";
}

Child::~Child() {
  kill_and_reap();
  close_fd(&out_fd_);
  close_fd(&err_fd_);
  close_fd(&pid_fd_);
}

bool Child::start(const ChildSpec& spec) {
  if (pid_ > 0 || spec.argv.empty() || spec.fds.size() > kMaxFds) {
    errno = EINVAL;
    return false;
  }
  Prepared prep(spec);
  int out[2], err[2];
  if (!capture_pipe(spec.out, out)) return false;
  int null = -1;
  if (!capture_pipe(spec.err, err) || (null = ::open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) {
    int saved = errno;
    for (int* fd : {&out[0], &out[1], &err[0], &err[1]}) close_fd(fd);
    errno = saved;
    return false;
  }
  Stdio stdio{null, spec.out == Output::kInherit ? -1 : (out[1] >= 0 ? out[1] : null),
              spec.err == Output::kInherit ? -1 : (err[1] >= 0 ? err[1] : null)};
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) exec_child(spec, prep, stdio, parent);
  int saved = errno;
  for (int* fd : {&null, &out[1], &err[1]}) close_fd(fd);
  if (pid < 0) {
    close_fd(&out[0]);
    close_fd(&err[0]);
    errno = saved;
    return false;
  }
  pid_ = pid;
  out_fd_ = out[0];
  err_fd_ = err[0];
  for (int fd : {out_fd_, err_fd_}) {
    if (fd >= 0) ::fcntl(fd, F_SETFL, O_NONBLOCK);
  }
  // Unreaped, the pid cannot be reused: this is the child's. CLOEXEC is implied.
  pid_fd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  return true;
}

void Child::read_ready(int* fd, std::string* sink) {
  char buf[65536];
  while (*fd >= 0) {
    ssize_t got = ::read(*fd, buf, sizeof(buf));
    if (got > 0) {
      sink->append(buf, static_cast<std::size_t>(got));
    } else if (got < 0 && errno == EINTR) {
      continue;
    } else if (got < 0 && errno == EAGAIN) {
      return;  // all read for now
    } else {
      close_fd(fd);  // EOF (or an error: nothing more will come)
    }
  }
}

void Child::poll_pipes(Ms wait, bool with_exit) {
  pollfd p[3];
  nfds_t n = 0;
  if (out_fd_ >= 0) p[n++] = {out_fd_, POLLIN, 0};
  if (err_fd_ >= 0) p[n++] = {err_fd_, POLLIN, 0};
  if (with_exit && pid_fd_ >= 0) p[n++] = {pid_fd_, POLLIN, 0};
  // Without a pidfd only a look now and then sees the exit.
  if (with_exit && pid_fd_ < 0) wait = std::min(wait, Ms(5));
  if (n == 0 && !with_exit) return;
  if (::poll(p, n, static_cast<int>(wait.count())) <= 0) return;
  const int out = out_fd_, err = err_fd_;
  for (nfds_t i = 0; i < n; ++i) {
    if (p[i].revents == 0) continue;
    if (p[i].fd == out) read_ready(&out_fd_, &result_.out);
    if (p[i].fd == err) read_ready(&err_fd_, &result_.err);
  }
}

void Child::pump(Ms wait) { poll_pipes(wait, false); }

bool Child::pump_until(const std::function<bool()>& done, Ms timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (out_fd_ < 0 && err_fd_ < 0) return false;  // nothing more can come
    if (Clock::now() >= deadline) return false;
    // done() may look at more than the output: look again at least every 50 ms.
    pump(std::min(left_until(deadline), Ms(50)));
  }
}

bool Child::wait_output(const std::function<bool(const std::string& out)>& pred, Ms timeout) {
  return pump_until([&] { return pred(result_.out); }, timeout);
}

bool Child::wait_exit(Ms timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    if (try_reap()) {
      // Everything it wrote is in the pipes now; read it without waiting for their ends.
      read_ready(&out_fd_, &result_.out);
      read_ready(&err_fd_, &result_.err);
      return true;
    }
    if (pid_ <= 0 || Clock::now() >= deadline) return false;
    poll_pipes(left_until(deadline), true);
  }
}

void Child::record(int status) {
  reaped_ = true;
  close_fd(&pid_fd_);
  if (WIFEXITED(status)) {
    result_.exited = true;
    result_.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result_.term_signal = WTERMSIG(status);
  }
}

bool Child::try_reap() {
  if (!running()) return reaped_;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) record(status);
  if (r < 0 && errno == ECHILD) record(kUnknownStatus);  // reaped elsewhere
  return reaped_;
}

void Child::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

void Child::kill_and_reap() {
  if (!running()) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  pid_t r;
  while ((r = ::waitpid(pid_, &status, 0)) < 0 && errno == EINTR) {
  }
  record(r == pid_ ? status : kUnknownStatus);
}

RunResult run(const ChildSpec& spec, Ms timeout) {
  Child child;
  if (!child.start(spec)) return {};
  bool ended = child.wait_exit(timeout);
  if (!ended) {
    child.kill_and_reap();
    child.pump(Ms(0));  // what it wrote before the kill, for the failure message
  }
  RunResult r = child.result();
  if (!ended) {
    r.timed_out = true;
    r.exited = false;
    r.exit_code = -1;
  }
  return r;
}

ForkedGuard::~ForkedGuard() {
  if (pid > 0 && ::kill(pid, SIGKILL) == 0) ::waitpid(pid, nullptr, 0);
}

}  // namespace herd::test
