// FileWatch: changes under a set of paths, through inotify on the daemon's loop.
//
// A directory root is watched with every subdirectory below it that the WatchFilter does not
// ignore; subdirectories created (or moved in) later are added as they appear, and the watches
// of removed (or moved out) ones are dropped. A file root is watched through its directory, so
// that an editor that saves by writing a new file and renaming it over the old one is seen.
// Symbolic links below a root are not followed (they could loop).
//
// Changes reported: a file or directory created, deleted, moved in or out, written (modify,
// close-after-write) or with changed attributes (touch). When the kernel's event queue
// overflows, changes were lost: the tree is scanned again and one change is reported with the
// words "inotify queue overflow" instead of a path.
//
// Limits: at most kMaxDirectories directories per FileWatch; beyond that, and when the kernel
// refuses a watch (ENOSPC: fs.inotify.max_user_watches), the directory is skipped with a
// warning in the daemon's log. Events under a directory created and filled before its watch is
// added are not seen one by one, but the directory's creation is itself a change.
//
// Threads: the loop's thread only. The callback must not destroy the FileWatch.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "app/watch_filter.h"
#include "herd/base/fd.h"
#include "herd/loop/event_loop.h"
#include "herd/loop/io_watcher.h"

namespace herd::manager {

class FileWatch {
 public:
  // `what`: the absolute path that changed, or a sentence for an overflow.
  using ChangeCallback = std::function<void(const std::string& what)>;

  static constexpr std::size_t kMaxDirectories = 16384;

  FileWatch(EventLoop& loop, WatchFilter filter, ChangeCallback cb);
  ~FileWatch();
  FileWatch(const FileWatch&) = delete;
  FileWatch& operator=(const FileWatch&) = delete;

  // Watches `roots` (absolute paths). A root that does not exist is skipped with a warning.
  // Fails when inotify cannot be set up at all (EMFILE, ENFILE), or when no root could be
  // watched (ENOENT naming them); then nothing is watched.
  Status start(const std::vector<std::string>& roots);

  // How many directories are watched now.
  std::size_t directories() const { return dirs_.size(); }

 private:
  struct Dir {
    std::string path;
    std::string root;             // the root it was found under
    bool all = true;              // every entry counts; else only those in `names`
    std::set<std::string> names;  // file roots watched through this directory
  };

  // Adds `path` and, when `recursive`, every directory below it. Existing watches are kept.
  void add_tree(const std::string& path, const std::string& root);
  // Adds one directory; -1 when it cannot be watched.
  int add_dir(const std::string& path, const std::string& root, const std::string& only);
  // Drops the watches of `path` and everything below it.
  void forget_tree(const std::string& path);
  void rescan();
  void on_readable();
  void handle(std::uint32_t mask, int wd, const char* name);

  EventLoop& loop_;
  WatchFilter filter_;
  ChangeCallback cb_;
  Fd fd_;
  std::unique_ptr<IoWatcher> watcher_;
  std::vector<std::string> roots_;
  std::map<int, Dir> dirs_;             // by watch descriptor
  std::map<std::string, int> by_path_;  // directory path -> watch descriptor
  bool warned_limit_ = false;
};

}  // namespace herd::manager
