// A user's account entry, read from the passwd and group files themselves, and the identity an
// app runs under (AppSpec::user / group).
//
// herd is linked statically (see src/cli/CMakeLists.txt), where getpwuid(3) would have to load
// glibc's NSS modules at run time, from the very glibc version it was built with. So herd reads
// the "files" source directly: accounts that exist only in a directory service (LDAP, sssd) are
// not found, and the callers then ask for HERD_HOME (or -u/--hp for `herd startup`), or refuse
// the app's user.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "herd/base/error.h"

namespace herd::manager {

struct PasswdEntry {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;  // the primary group
  std::string home;
  std::string shell;
};

// The first line of `passwd_file` (format passwd(5)) whose uid is `uid`; nullopt when there is
// none or the file cannot be read. Thread-safe (no static state).
std::optional<PasswdEntry> passwd_entry(uid_t uid, const char* passwd_file = "/etc/passwd");

// The same, by user name.
std::optional<PasswdEntry> passwd_entry(const std::string& name,
                                        const char* passwd_file = "/etc/passwd");

struct GroupEntry {
  std::string name;
  gid_t gid = 0;
  std::vector<std::string> members;
};

// The first line of `group_file` (format group(5)) whose name is `name_or_gid`, or whose gid it
// is when it is a number; nullopt when there is none or the file cannot be read.
std::optional<GroupEntry> group_entry(const std::string& name_or_gid,
                                      const char* group_file = "/etc/group");

// The groups `user` is a member of in `group_file` (initgroups(3)'s list), `primary` first and
// each gid once.
std::vector<gid_t> supplementary_groups(const std::string& user, gid_t primary,
                                        const char* group_file = "/etc/group");

// Who an app runs as, resolved: what spawn() switches to and the environment runuser(1) sets.
struct Identity {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary, the primary group included
  std::string name, home, shell;
};

// `user` (a name, or a uid found in passwd) and `group` ("" = the user's primary group; a name
// or a gid found in group). EINVAL naming what is unknown ("no user 'x' in /etc/passwd").
Result<Identity> resolve_identity(const std::string& user, const std::string& group,
                                  const char* passwd_file = "/etc/passwd",
                                  const char* group_file = "/etc/group");

// An app's identity as its `user` and `group` settings ask: nullopt when both are empty (the
// daemon's own); with only `group`, the daemon's user with that group. EPERM "running as another
// user needs a daemon started by root" when this process is not root; resolve_identity's errors.
Result<std::optional<Identity>> app_identity(const std::string& user, const std::string& group);

}  // namespace herd::manager
