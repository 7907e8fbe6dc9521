// Small file operations on cgroupfs (and on the fake trees the tests build): read a value,
// write one, list the pids of a group, make and remove a group directory.
//
// Pure system calls, no state; callable from any thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/cgroup/cgroup_backend.h"
#include "herd/base/error.h"

namespace herd::manager::cgroup {

// The whole content of a small file; nullopt when it cannot be read.
std::optional<std::string> read_text(const std::string& path);
// The file's first number ("12345\n", "max" is nullopt).
std::optional<std::uint64_t> read_number(const std::string& path);
// The value of `key` in a flat keyed file ("key value" lines: memory.stat, cpu.stat,
// memory.events, memory.oom_control); nullopt when absent.
std::optional<std::uint64_t> read_keyed(const std::string& path, std::string_view key);
// The same two on text already read (a kept file's pread).
std::optional<std::uint64_t> number_in(std::string_view text);
std::optional<std::uint64_t> keyed_in(std::string_view text, std::string_view key);
// Writes `text` to a control file. The error names the file and the value.
Status write_text(const std::string& path, std::string_view text);
// The pids listed in a cgroup.procs file.
std::vector<pid_t> read_pids(const std::string& path);
// mkdir with mode 0755; EEXIST passes when `exist_ok`.
Status make_dir(const std::string& path, bool exist_ok);
// The subdirectories of `dir` (their names).
std::vector<std::string> subdirs(const std::string& dir);
// Each limit set in `limits` needs its controller (memory, cpu, pids): the first one `has` says
// is missing is refused, ENOTSUP, "<setting> needs the cgroup <version> <controller> controller,
// <why_missing>".
Status require_controllers(const CgroupLimits& limits,
                           const std::function<bool(const char* controller)>& has,
                           std::string_view version, std::string_view why_missing);

}  // namespace herd::manager::cgroup
