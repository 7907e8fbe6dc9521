#include "daemon/home.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "daemon/user.h"

namespace herd::manager {
namespace {

Status ensure_private_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) < 0 && errno != EEXIST) return fail_errno("create " + path);
  struct stat st;
  if (::stat(path.c_str(), &st) < 0) return fail_errno("stat " + path);
  if (!S_ISDIR(st.st_mode)) return fail(ENOTDIR, path + " is not a directory");
  if (st.st_uid != ::geteuid()) {
    return fail(EPERM, fmt::format("{} belongs to uid {}, not to you (uid {}); set HERD_HOME to a "
                                   "directory of your own",
                                   path, st.st_uid, ::geteuid()));
  }
  if (team_group_of(path)) return {};  // shared on purpose with its group (chmod 2770)
  if ((st.st_mode & 077) != 0 && ::chmod(path.c_str(), 0700) < 0) {
    return fail_errno(fmt::format("{} is open to other users (mode {:o}) and chmod 0700 failed",
                                  path, st.st_mode & 0777));
  }
  return {};
}

}  // namespace

std::optional<gid_t> team_group_of(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) < 0 || !S_ISDIR(st.st_mode)) return std::nullopt;
  bool team = (st.st_mode & S_ISGID) != 0 && (st.st_mode & 070) == 070 && (st.st_mode & 07) == 0;
  if (!team) return std::nullopt;
  return st.st_gid;
}

std::optional<gid_t> Home::team_group() const { return team_group_of(dir); }

Result<Home> Home::locate() {
  if (const char* h = std::getenv("HERD_HOME"); h != nullptr && *h != '\0') {
    std::string dir = h;
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    return Home{dir};
  }
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') {
    auto entry = passwd_entry(::geteuid());
    if (!entry || entry->home.empty()) {
      return fail(ENOENT,
                  "HOME is not set and /etc/passwd has no home for your uid: set HERD_HOME");
    }
    return Home{entry->home + "/.herd"};
  }
  return Home{std::string(home) + "/.herd"};
}

Status Home::prepare() const {
  if (Status s = ensure_private_dir(dir); !s) return s;
  if (Status s = ensure_private_dir(logs_dir()); !s) return s;
  return ensure_private_dir(pids_dir());
}

}  // namespace herd::manager
