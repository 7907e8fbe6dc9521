#include "daemon/home_watch.h"

#include <fmt/format.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "herd/base/log.h"

namespace herd::manager {
namespace {

// The directory itself going, and any entry of it created, removed or renamed (only the lock
// file's names are looked at).
constexpr std::uint32_t kMask = IN_DELETE_SELF | IN_MOVE_SELF | IN_DELETE | IN_MOVED_FROM |
                                IN_MOVED_TO | IN_CREATE | IN_ONLYDIR;

std::string base_name(const std::string& path) { return path.substr(path.rfind('/') + 1); }

}  // namespace

Result<HomeIdentity> HomeIdentity::of(const Home& home) {
  struct stat st;
  if (::stat(home.dir.c_str(), &st) < 0) return fail_errno("stat " + home.dir);
  HomeIdentity id;
  id.dir_dev = st.st_dev;
  id.dir_ino = st.st_ino;
  if (::lstat(home.lock_file().c_str(), &st) == 0) id.lock = {st.st_dev, st.st_ino};
  return id;
}

std::string HomeIdentity::change(const Home& home) const {
  struct stat st;
  if (::stat(home.dir.c_str(), &st) < 0) {
    // Only a missing path is an answer; a stat that fails otherwise (EACCES on the way, ENOMEM)
    // says nothing about the home, and a wrong "gone" would stop every app.
    if (errno == ENOENT || errno == ENOTDIR) return fmt::format("{} was removed", home.dir);
    return {};
  }
  if (st.st_dev != dir_dev || st.st_ino != dir_ino) {
    return fmt::format("{} was moved away or replaced by another directory", home.dir);
  }
  if (!lock) return {};
  if (::lstat(home.lock_file().c_str(), &st) < 0) {
    if (errno == ENOENT) {
      return fmt::format("{} was removed (the home no longer keeps a second daemon out)",
                         home.lock_file());
    }
    return {};
  }
  if (st.st_dev != lock->first || st.st_ino != lock->second) {
    return fmt::format("{} was replaced (the home no longer keeps a second daemon out)",
                       home.lock_file());
  }
  return {};
}

HomeWatch::HomeWatch(EventLoop& loop, Home home)
    : loop_(loop), home_(std::move(home)), poll_(loop) {}

HomeWatch::~HomeWatch() {
  watcher_.reset();  // before the descriptor it watches
}

Status HomeWatch::start(GoneCallback gone) {
  auto id = HomeIdentity::of(home_);
  if (!id) return std::unexpected(id.error());
  id_ = *id;
  gone_ = std::move(gone);
  poll_.start([this] { check(); }, kPollMs, kPollMs);
  poll_.unref();  // housekeeping: never what keeps the daemon running
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    log_warn("daemon: no inotify for {} ({}); whether it is removed is checked every {} ms",
             home_.dir, std::strerror(errno), kPollMs);
    return {};
  }
  inotify_.reset(fd);
  if (::inotify_add_watch(fd, home_.dir.c_str(), kMask) < 0) {
    log_warn("daemon: cannot watch {} ({}); whether it is removed is checked every {} ms",
             home_.dir, std::strerror(errno), kPollMs);
    inotify_.reset();
    return {};
  }
  watcher_ = std::make_unique<IoWatcher>(loop_, inotify_.get());
  watcher_->unref();
  watcher_->set_callback([this](std::uint32_t) { on_readable(); });
  if (Status s = watcher_->start(kReadable); !s) {
    watcher_.reset();
    inotify_.reset();
  }
  // A home removed between the identity and the watch: seen now rather than at the next poll.
  check();
  return {};
}

void HomeWatch::stop() {
  poll_.stop();
  if (watcher_) watcher_->stop();
}

void HomeWatch::on_readable() {
  alignas(inotify_event) char buf[8 * 1024];
  const std::string lock_name = base_name(home_.lock_file());
  bool look = false;
  // A few reads per wake-up at most: the watcher is level-triggered, what is left comes next.
  for (int round = 0; round < 8; ++round) {
    ssize_t n = ::read(inotify_.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n <= 0) {
      // Cannot happen with a healthy inotify descriptor; the poll still looks.
      log_warn("daemon: reading the watch of {}: {}", home_.dir, std::strerror(errno));
      watcher_->stop();
      break;
    }
    for (char* p = buf; p < buf + n;) {
      auto* e = reinterpret_cast<inotify_event*>(p);
      p += sizeof(inotify_event) + e->len;
      if (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_UNMOUNT | IN_Q_OVERFLOW)) {
        look = true;
      } else if (e->len > 0 && lock_name == e->name) {
        look = true;
      }
    }
  }
  if (look) check();
}

void HomeWatch::check() {
  if (fired_) return;
  std::string why = id_.change(home_);
  if (why.empty()) return;
  fired_ = true;
  stop();
  gone_(why);
}

}  // namespace herd::manager
