// usable_cpus: how many CPUs this process may use, which is what `-i max` (and `0`, `-N`) and
// libherd's cluster with no worker count (one worker per usable CPU) count: the fewest of
//   - the CPUs of its affinity mask (sched_getaffinity: taskset, a cpuset, a container's
//     --cpuset-cpus), and
//   - its cgroup's CPU quota rounded up (cgroup v2 `cpu.max`, v1 `cpu.cfs_quota_us` over
//     `cpu.cfs_period_us`), the quotas of the cgroup's ancestors included, since a parent's
//     limit bounds its children (a container that sees its own cgroup as the root reads it
//     there);
// and at least 1. The host's core count alone would fork 48 workers under a 2-CPU limit.
//
// Everything but affinity_cpus() and usable_cpus() is pure (file text in, number out) so that
// tests can give tables of cgroup files. Any thread.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace herd {

// The whole text of the file at `path`; nullopt when it cannot be read (missing, not allowed).
using ReadFileFn = std::function<std::optional<std::string>(const std::string& path)>;

// cgroup v2 `cpu.max` ("$MAX $PERIOD") in CPUs, rounded up: "max 100000" -> nullopt (no limit),
// "50000 100000" -> 1, "150000 100000" -> 2. Text that is not a quota -> nullopt.
std::optional<int> cpu_max_limit(std::string_view cpu_max);
// cgroup v1 `cpu.cfs_quota_us` over `cpu.cfs_period_us` in CPUs, rounded up; a quota of -1 (no
// limit) or text that is not a number -> nullopt.
std::optional<int> cfs_quota_limit(std::string_view quota_us, std::string_view period_us);

// A directory whose CPU limit bounds the process: `v2` for the unified hierarchy (cpu.max),
// else the v1 `cpu` controller (cpu.cfs_*).
struct CgroupDir {
  bool v2 = false;
  std::string path;
  friend bool operator==(const CgroupDir&, const CgroupDir&) = default;
};

// From the text of /proc/self/cgroup and /proc/self/mountinfo: for the v1 `cpu` hierarchy and the
// v2 one, the directory of the process's cgroup where that hierarchy is mounted, then each
// ancestor up to and including the mount point. A cgroup path outside the mount's root (a
// cgroup namespace seen through a mount from outside it) gives the mount point alone.
std::vector<CgroupDir> cpu_cgroup_dirs(std::string_view proc_cgroup, std::string_view mountinfo);

// The tightest quota of those directories in CPUs, reading their files through `read`; nullopt
// when none has a limit (or none can be read).
std::optional<int> cgroup_cpu_limit(std::string_view proc_cgroup, std::string_view mountinfo,
                                    const ReadFileFn& read);

// min(affinity, quota), at least 1; `affinity_cpus` < 1 means unknown (the quota alone counts,
// or 1 without one).
int usable_cpus_from(int affinity_cpus, std::optional<int> quota_cpus);

// The number of CPUs in this thread's affinity mask; 0 when sched_getaffinity fails.
int affinity_cpus();
// usable_cpus_from(affinity_cpus(), this process's cgroup limit). Read afresh at every call: a
// daemon moved into another cgroup counts the new limit at its next start.
int usable_cpus();

}  // namespace herd
