#include "e2e/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <thread>

namespace herd::e2e {
namespace {

using Clock = std::chrono::steady_clock;

Ms left_until(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<Ms>(deadline - Clock::now());
  return left.count() > 0 ? left : Ms(0);
}

}  // namespace

std::ostream& operator<<(std::ostream& os, const CommandResult& r) {
  os << "[exit " << r.exit_code;
  if (r.term_signal != 0) os << ", signal " << r.term_signal;
  if (r.timed_out) os << ", TIMED OUT";
  return os << "]\n--- stdout ---\n" << r.out << "--- stderr ---\n" << r.err << "---";
}

Process::~Process() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    int status;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (out_fd_ >= 0) ::close(out_fd_);
  if (err_fd_ >= 0) ::close(err_fd_);
}

bool Process::spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) < 0) return false;
  if (::pipe2(err, O_CLOEXEC) < 0) {
    ::close(out[0]);
    ::close(out[1]);
    return false;
  }
  // Built before fork: the child only calls async-signal-safe functions.
  std::vector<std::string> argv_store = argv, env_store = env;
  std::vector<char*> cargv, cenv;
  for (auto& a : argv_store) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  for (auto& e : env_store) cenv.push_back(e.data());
  cenv.push_back(nullptr);

  pid_t pid = ::fork();
  if (pid == 0) {
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(cargv[0], cargv.data(), cenv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  if (pid < 0) {
    ::close(out[0]);
    ::close(err[0]);
    return false;
  }
  pid_ = pid;
  out_fd_ = out[0];
  err_fd_ = err[0];
  ::fcntl(out_fd_, F_SETFL, O_NONBLOCK);
  ::fcntl(err_fd_, F_SETFL, O_NONBLOCK);
  return true;
}

void Process::pump(Ms wait) {
  pollfd fds[2];
  int n = 0;
  if (out_fd_ >= 0) fds[n++] = {out_fd_, POLLIN, 0};
  if (err_fd_ >= 0) fds[n++] = {err_fd_, POLLIN, 0};
  if (n == 0) return;
  int r = ::poll(fds, static_cast<nfds_t>(n), static_cast<int>(wait.count()));
  if (r <= 0) return;
  for (int i = 0; i < n; ++i) {
    if (fds[i].revents == 0) continue;
    int* fd = fds[i].fd == out_fd_ ? &out_fd_ : &err_fd_;
    std::string* sink = fds[i].fd == out_fd_ ? &result_.out : &result_.err;
    char buf[65536];
    for (;;) {
      ssize_t got = ::read(*fd, buf, sizeof(buf));
      if (got > 0) {
        sink->append(buf, static_cast<std::size_t>(got));
        continue;
      }
      if (got < 0 && errno == EINTR) continue;
      if (got == 0) {  // EOF
        ::close(*fd);
        *fd = -1;
      }
      break;  // EAGAIN: all read for now
    }
  }
}

bool Process::try_reap() {
  if (pid_ <= 0 || exited_) return exited_;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r != pid_) return false;
  exited_ = true;
  if (WIFEXITED(status)) result_.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result_.term_signal = WTERMSIG(status);
  return true;
}

bool Process::wait_output(const std::function<bool(const std::string&)>& pred, Ms timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    if (pred(result_.out)) return true;
    if (Clock::now() >= deadline) return false;
    if (out_fd_ < 0 && err_fd_ < 0) return pred(result_.out);  // nothing more can come
    pump(std::min(left_until(deadline), Ms(100)));
  }
}

bool Process::wait_exit(Ms timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    if (try_reap()) {
      // Everything it wrote is in the pipes now; whatever may still hold them (a daemon it
      // started) does not delay us.
      std::size_t before;
      do {
        before = result_.out.size() + result_.err.size();
        pump(Ms(0));
      } while (result_.out.size() + result_.err.size() != before);
      return true;
    }
    if (Clock::now() >= deadline) return false;
    if (out_fd_ < 0 && err_fd_ < 0) {
      std::this_thread::sleep_for(Ms(5));  // pipes closed: only the exit is left to see
    } else {
      pump(std::min(left_until(deadline), Ms(20)));
    }
  }
}

void Process::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

int connect_tcp(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0) {
    int e = errno;
    ::close(fd);
    return -e;
  }
  return fd;
}

}  // namespace herd::e2e
