#include "daemon/home_lock.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace herd::manager {
namespace {

constexpr std::size_t kMaxCommand = 120;

// The pid that holds a flock on the file (dev, ino), from /proc/locks ("1: FLOCK  ADVISORY  WRITE
// 4711 fd:01:1234 0 EOF"; the device's major and minor in hex); 0 when none is listed. A line
// with "->" is a process waiting for the lock, not holding it.
pid_t flock_owner(dev_t dev, ino_t ino) {
  std::ifstream in("/proc/locks");
  std::string line;
  pid_t same_inode = 0;  // a match of the inode alone (an overlay shows another device)
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::vector<std::string> f;
    for (std::string w; fields >> w;) f.push_back(w);
    if (f.size() < 6 || f[1] != "FLOCK") continue;
    unsigned maj = 0, min = 0;
    unsigned long long file_ino = 0;
    if (std::sscanf(f[5].c_str(), "%x:%x:%llu", &maj, &min, &file_ino) != 3) continue;
    if (file_ino != static_cast<unsigned long long>(ino)) continue;
    pid_t pid = static_cast<pid_t>(std::atoi(f[4].c_str()));
    if (maj == ::major(dev) && min == ::minor(dev)) return pid;
    if (same_inode == 0) same_inode = pid;
  }
  return same_inode;
}

std::vector<std::string> command_line(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/cmdline", pid), std::ios::binary);
  std::vector<std::string> args;
  for (std::string a; std::getline(in, a, '\0');) args.push_back(a);
  return args;
}

// Whether a daemon accepts connections on the home's control socket (a full backlog counts: it
// is there). Never blocks: a Unix socket's connect completes or fails at once.
bool socket_answers(const Home& home) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string path = home.socket();
  if (path.size() >= sizeof(addr.sun_path)) return false;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  auto fd = Fd::socket(AF_UNIX, SOCK_STREAM);
  if (!fd) return false;
  return ::connect(fd->get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 ||
         errno == EAGAIN;
}

}  // namespace

// One daemon per home: the lock is held for the process's life and released by the kernel when
// it dies, however it dies.
std::expected<Fd, std::string> lock_home(const Home& home) {
  auto lock = Fd::open(home.lock_file().c_str(), O_RDWR | O_CREAT | O_NOFOLLOW, 0600);
  if (!lock) return std::unexpected(lock.error().message());
  // A daemon that was just told to quit (`herd kill` answers before its process is gone) lets
  // go of the lock a moment later: wait for that, not for a daemon that keeps running.
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  for (int round = 0; ::flock(lock->get(), LOCK_EX | LOCK_NB) < 0; ++round) {
    // Neither is a `herd runtime` quitting for us (its home is its own for its whole life), nor
    // a daemon that answers on the control socket: a daemon that took the home over once they
    // ended (after `herd kill`, say) would outlive whoever stopped them. Looked at every 100 ms.
    if (round % 10 == 0) {
      auto holder = lock_holder(home);
      if (holder && holder->kind == LockHolder::Kind::kRuntime) {
        return std::unexpected(
            fmt::format("{} is held by {}; not waiting for it", home.dir, holder->describe()));
      }
      if (holder && socket_answers(home)) {
        return std::unexpected(
            fmt::format("another daemon already runs for {} ({})", home.dir, holder->describe()));
      }
    }
    if (std::chrono::steady_clock::now() > give_up) {
      std::string who;
      if (auto holder = lock_holder(home); holder && holder->pid > 0) {
        who = fmt::format(" ({})", holder->describe());
      }
      return std::unexpected(fmt::format("another daemon already runs for {}{}", home.dir, who));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return std::move(*lock);
}

std::string LockHolder::describe() const {
  std::string who =
      pid > 0 ? fmt::format("pid {}", pid) : std::string("a process not visible here");
  if (!command.empty()) who += fmt::format(" ({})", command);
  return who;
}

std::optional<LockHolder> lock_holder(const Home& home) {
  auto fd = Fd::open(home.lock_file().c_str(), O_RDONLY | O_NOFOLLOW);
  if (!fd) return std::nullopt;  // no lock file: no daemon ever ran here (or we cannot tell)
  struct stat st;
  if (::fstat(fd->get(), &st) < 0) return std::nullopt;
  LockHolder holder;
  // A holder that lets go between the two looks is not listed: look again.
  for (int attempt = 0; attempt < 3 && holder.pid <= 0; ++attempt) {
    // A shared lock is granted unless someone holds the exclusive one; given back at once.
    if (::flock(fd->get(), LOCK_SH | LOCK_NB) == 0) {
      ::flock(fd->get(), LOCK_UN);
      return std::nullopt;
    }
    if (errno != EWOULDBLOCK) return std::nullopt;
    holder.pid = flock_owner(st.st_dev, st.st_ino);
  }
  if (holder.pid <= 0) return holder;
  std::vector<std::string> args = command_line(holder.pid);
  for (const std::string& a : args) {
    if (!holder.command.empty()) holder.command += ' ';
    holder.command += a;
  }
  if (holder.command.size() > kMaxCommand) {
    holder.command = holder.command.substr(0, kMaxCommand - 3) + "...";
  }
  if (args.size() >= 2 && args[1] == "daemon") holder.kind = LockHolder::Kind::kDaemon;
  if (args.size() >= 2 && args[1] == "runtime") holder.kind = LockHolder::Kind::kRuntime;
  return holder;
}

}  // namespace herd::manager
