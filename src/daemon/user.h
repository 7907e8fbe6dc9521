// A user's account entry, read from the passwd file itself.
//
// herd is linked statically (see src/cli/CMakeLists.txt), where getpwuid(3) would have to load
// glibc's NSS modules at run time, from the very glibc version it was built with. So herd reads
// the "files" source directly: accounts that exist only in a directory service (LDAP, sssd) are
// not found, and the callers then ask for HERD_HOME (or -u/--hp for `herd startup`).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace herd::manager {

struct PasswdEntry {
  std::string name;
  uid_t uid = 0;
  std::string home;
};

// The first line of `passwd_file` (format passwd(5)) whose uid is `uid`; nullopt when there is
// none or the file cannot be read. Thread-safe (no static state).
std::optional<PasswdEntry> passwd_entry(uid_t uid, const char* passwd_file = "/etc/passwd");

// The same, by user name.
std::optional<PasswdEntry> passwd_entry(const std::string& name,
                                        const char* passwd_file = "/etc/passwd");

}  // namespace herd::manager
