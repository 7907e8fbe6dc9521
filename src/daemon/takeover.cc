#include "daemon/takeover.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "herd/base/fd.h"

extern char** environ;

namespace herd::manager {
namespace {

void set_cloexec(int fd, bool on) {
  int flags = ::fcntl(fd, F_GETFD);
  if (flags < 0) return;
  ::fcntl(fd, F_SETFD, on ? (flags | FD_CLOEXEC) : (flags & ~FD_CLOEXEC));
}

std::vector<std::string> takeover_argv(const std::string& program, int state_fd,
                                       const std::vector<std::string>& extra) {
  std::vector<std::string> argv{program, "daemon", "--takeover", std::to_string(state_fd)};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

Result<std::string> probe_herd_binary(const std::string& binary) {
  if (::access(binary.c_str(), X_OK) != 0) return fail_errno(binary);
  auto out = Fd::pipe();
  if (!out) return std::unexpected(out.error());
  pid_t pid = ::fork();
  if (pid < 0) return fail_errno("fork");
  if (pid == 0) {
    ::dup2(out->second.get(), 1);
    int devnull = ::open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      ::dup2(devnull, 0);
      ::dup2(devnull, 2);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execl(binary.c_str(), binary.c_str(), "version", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  out->second.reset();
  std::string text;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) break;
    pollfd p{out->first.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    char buf[256];
    ssize_t n = ::read(out->first.get(), buf, sizeof(buf));
    if (n <= 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > 4096) break;
  }
  int status = 0;
  pid_t done = 0;
  while ((done = ::waitpid(pid, &status, WNOHANG)) == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    ::poll(nullptr, 0, 10);
  }
  if (done == 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    return fail(ETIMEDOUT, fmt::format("`{} version` did not answer within 5 s", binary));
  }
  bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && text.rfind("herd ", 0) == 0;
  if (!ok) {
    std::string first = text.substr(0, text.find('\n')).substr(0, 80);
    return fail(ENOEXEC,
                fmt::format("{} is not a herd binary (`{} version` {}{})", binary, binary,
                            WIFEXITED(status) ? fmt::format("exited with {}", WEXITSTATUS(status))
                                              : std::string("was killed"),
                            first.empty() ? "" : fmt::format(" and printed \"{}\"", first)));
  }
  std::string version = text.substr(5);
  return version.substr(0, version.find_first_of("\r\n"));
}

Error exec_takeover(const std::string& binary, const nlohmann::json& state,
                    const std::vector<int>& keep, const std::vector<std::string>& extra_args) {
  int memfd = ::memfd_create("herd-takeover", MFD_CLOEXEC);
  if (memfd < 0) return Error::from_errno("memfd_create");
  std::string text = state.dump();
  std::size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(memfd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Error e = Error::from_errno("write the takeover state");
      ::close(memfd);
      return e;
    }
    off += static_cast<std::size_t>(n);
  }
  for (int fd : keep) set_cloexec(fd, false);
  set_cloexec(memfd, false);
  std::vector<std::string> args = takeover_argv(binary, memfd, extra_args);
  std::vector<char*> argv = pointers(args);
  ::execve(binary.c_str(), argv.data(), environ);
  Error e = Error::from_errno(fmt::format("exec {}", binary));
  for (int fd : keep) set_cloexec(fd, true);
  ::close(memfd);
  return e;
}

Error exec_takeover_fd(int exe_fd, int state_fd, const std::vector<std::string>& extra_args) {
  ::lseek(state_fd, 0, SEEK_SET);
  set_cloexec(state_fd, false);
  std::vector<std::string> args = takeover_argv("herd", state_fd, extra_args);
  std::vector<char*> argv = pointers(args);
  ::execveat(exe_fd, "", argv.data(), environ, AT_EMPTY_PATH);
  return Error::from_errno("exec the previous herd binary");
}

Result<nlohmann::json> read_takeover_state(int fd) {
  std::string text;
  ::lseek(fd, 0, SEEK_SET);
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("read the takeover state");
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  auto state = nlohmann::json::parse(text, nullptr, false);
  if (!state.is_object()) return fail(EINVAL, "the takeover state is not a JSON object");
  if (state.value("takeover_version", 0) != kTakeoverVersion) {
    return fail(EINVAL, fmt::format("the takeover state is of version {}, this herd reads {}",
                                    state.value("takeover_version", 0), kTakeoverVersion));
  }
  return state;
}

}  // namespace herd::manager
