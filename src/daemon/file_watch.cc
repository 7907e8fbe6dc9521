#include "daemon/file_watch.h"

#include <dirent.h>
#include <fmt/format.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "herd/base/log.h"

namespace herd::manager {
namespace {

constexpr std::uint32_t kDirMask = IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB |
                                   IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF |
                                   IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK;

bool is_dir(const std::string& path, bool follow) {
  struct stat st;
  int rc = follow ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st);
  return rc == 0 && S_ISDIR(st.st_mode);
}

std::string join(const std::string& dir, std::string_view name) {
  return dir == "/" ? fmt::format("/{}", name) : fmt::format("{}/{}", dir, name);
}

}  // namespace

FileWatch::FileWatch(EventLoop& loop, WatchFilter filter, ChangeCallback cb)
    : loop_(loop), filter_(std::move(filter)), cb_(std::move(cb)) {}

FileWatch::~FileWatch() {
  watcher_.reset();  // before the descriptor it watches
}

Status FileWatch::start(const std::vector<std::string>& roots) {
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return fail_errno("inotify_init1");
  fd_.reset(fd);
  std::vector<std::string> missing;
  for (std::string root : roots) {
    while (root.size() > 1 && root.back() == '/') root.pop_back();
    struct stat st;
    if (::stat(root.c_str(), &st) != 0) {
      log_warn("watch: {} cannot be watched: {}", root, std::strerror(errno));
      missing.push_back(root);
      continue;
    }
    roots_.push_back(root);
    if (S_ISDIR(st.st_mode)) {
      add_tree(root, root);
    } else {
      // A file: through its directory, only its own name.
      std::size_t slash = root.rfind('/');
      std::string dir = slash == 0 ? "/" : root.substr(0, slash);
      add_dir(dir, root, root.substr(slash + 1));
    }
  }
  if (dirs_.empty()) {
    std::string list;
    for (const auto& r : roots) list += (list.empty() ? "" : ", ") + r;
    watcher_.reset();
    fd_.reset();
    return fail(ENOENT, fmt::format("watch: nothing to watch (no such path: {})", list));
  }
  watcher_ = std::make_unique<IoWatcher>(loop_, fd_.get());
  watcher_->unref();  // watching alone does not keep the daemon running
  watcher_->set_callback([this](std::uint32_t) { on_readable(); });
  if (Status s = watcher_->start(kReadable); !s) {
    watcher_.reset();
    return s;
  }
  return {};
}

int FileWatch::add_dir(const std::string& path, const std::string& root, const std::string& only) {
  if (auto it = by_path_.find(path); it != by_path_.end()) {
    Dir& d = dirs_[it->second];
    if (only.empty()) {
      d.all = true;
      d.names.clear();
    } else if (!d.all) {
      d.names.insert(only);
    }
    return it->second;
  }
  if (dirs_.size() >= kMaxDirectories) {
    if (!warned_limit_) {
      log_warn("watch: more than {} directories under {}; {} and others are not watched",
               kMaxDirectories, root, path);
      warned_limit_ = true;
    }
    return -1;
  }
  int wd = ::inotify_add_watch(fd_.get(), path.c_str(), kDirMask);
  if (wd < 0) {
    if (errno == ENOSPC && !warned_limit_) {
      log_warn(
          "watch: {}: the kernel's inotify watch limit is reached "
          "(fs.inotify.max_user_watches); it and others are not watched",
          path);
      warned_limit_ = true;
    } else if (errno != ENOENT && errno != ENOTDIR && errno != ENOSPC) {
      log_warn("watch: {}: {}", path, std::strerror(errno));
    }
    return -1;
  }
  Dir d;
  d.path = path;
  d.root = root;
  d.all = only.empty();
  if (!only.empty()) d.names.insert(only);
  // The kernel gives the same descriptor for a directory watched again under another path.
  if (auto old = dirs_.find(wd); old != dirs_.end()) by_path_.erase(old->second.path);
  dirs_[wd] = std::move(d);
  by_path_[path] = wd;
  return wd;
}

void FileWatch::add_tree(const std::string& top, const std::string& root) {
  std::vector<std::string> stack{top};
  while (!stack.empty()) {
    std::string dir = std::move(stack.back());
    stack.pop_back();
    if (add_dir(dir, root, "") < 0) continue;
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) continue;  // gone already, or unreadable: its watch still reports
    while (dirent* e = ::readdir(d)) {
      std::string_view name = e->d_name;
      if (name == "." || name == "..") continue;
      if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN) continue;
      std::string child = join(dir, name);
      if (e->d_type == DT_UNKNOWN && !is_dir(child, false)) continue;
      if (filter_.ignored(child, root)) continue;
      stack.push_back(std::move(child));
    }
    ::closedir(d);
  }
}

void FileWatch::forget_tree(const std::string& path) {
  std::string below = path + "/";
  for (auto it = by_path_.begin(); it != by_path_.end();) {
    if (it->first == path || it->first.starts_with(below)) {
      // EINVAL when the kernel already dropped it (the directory is gone): nothing to undo.
      ::inotify_rm_watch(fd_.get(), it->second);
      dirs_.erase(it->second);
      it = by_path_.erase(it);
    } else {
      ++it;
    }
  }
}

void FileWatch::rescan() {
  std::vector<std::string> gone;
  for (const auto& [path, wd] : by_path_) {
    if (!is_dir(path, true)) gone.push_back(path);
  }
  for (const auto& p : gone) forget_tree(p);
  for (const auto& root : roots_) {
    if (is_dir(root, true)) add_tree(root, root);
  }
}

void FileWatch::on_readable() {
  // At most a few reads per wake-up: the watcher is level-triggered, what is left comes next.
  alignas(inotify_event) char buf[16 * 1024];
  for (int round = 0; round < 4; ++round) {
    ssize_t n = ::read(fd_.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) {
        log_error("watch: reading inotify events: {}; file changes are no longer seen",
                  std::strerror(errno));
        watcher_->stop();
      }
      return;
    }
    if (n == 0) return;
    for (char* p = buf; p < buf + n;) {
      auto* e = reinterpret_cast<inotify_event*>(p);
      handle(e->mask, e->wd, e->len > 0 ? e->name : "");
      p += sizeof(inotify_event) + e->len;
    }
  }
}

void FileWatch::handle(std::uint32_t mask, int wd, const char* name) {
  if (mask & IN_Q_OVERFLOW) {
    rescan();
    cb_("inotify queue overflow (some changes were lost)");
    return;
  }
  auto it = dirs_.find(wd);
  if (it == dirs_.end()) return;  // a watch already forgotten
  if (mask & IN_IGNORED) {
    by_path_.erase(it->second.path);
    dirs_.erase(it);
    return;
  }
  Dir& d = it->second;
  if (mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
    std::string path = d.path;
    bool is_root = d.all && path == d.root;
    // A moved directory keeps its watch under a path we no longer know: drop it. (A deleted one
    // is dropped by the kernel, with IN_IGNORED.) Its parent, when watched, reports the move.
    if (mask & IN_MOVE_SELF) forget_tree(path);
    if (is_root) cb_(path);
    return;
  }
  if (name[0] == '\0') return;
  if (!d.all && d.names.count(name) == 0) return;
  std::string full = join(d.path, name);
  std::string root = d.root;
  bool recursive = d.all;
  if (filter_.ignored(full, root)) return;
  if (mask & IN_ISDIR) {
    if (mask & (IN_DELETE | IN_MOVED_FROM)) forget_tree(full);
    if ((mask & (IN_CREATE | IN_MOVED_TO)) && recursive) add_tree(full, root);
  }
  // --ext: only files of those extensions count (a directory's own change never does).
  if ((mask & IN_ISDIR) ? filter_.has_extensions() : !filter_.extension_counts(full)) return;
  cb_(full);
}

}  // namespace herd::manager
