// CgroupBackend: one version of the kernel's cgroup interface (v1 or v2) behind the few
// operations herd needs for its instances: a group per instance with limits, joining it before
// exec, measuring it, killing everything in it, removing it.
//
// A backend is built on directories it is given (herd's own group in each hierarchy), so tests
// point it at a fake tree in a temp dir. Group names are relative to herd's group ("api-0-3").
// Every file is reached by path at each call: nothing is cached, and nothing blocks beyond the
// small reads and writes of cgroupfs. The once-a-second sample is the exception: it goes through
// a CgroupMeter (cgroup_meter.h) built on the files meter_files() names, which keeps them open.
//
// Threads: any, one at a time (no locking inside; the daemon uses it from its loop thread).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "herd/base/error.h"
#include "herd/base/fd.h"

namespace herd::manager {

// What an instance may use; 0 = no limit.
struct CgroupLimits {
  std::uint64_t memory_max = 0;  // bytes (hard: the kernel's OOM killer acts beyond it)
  std::uint64_t cpu_milli = 0;   // thousandths of one CPU (500 = 50 %, 1500 = 1.5 CPUs)
  std::uint64_t max_tasks = 0;   // processes and threads

  bool any() const { return memory_max != 0 || cpu_milli != 0 || max_tasks != 0; }
};

// The whole group's use at one moment.
struct CgroupUsage {
  // Memory in use minus the inactive file cache (the "working set", what the kernel would not
  // give back without reclaiming memory the group is using).
  std::uint64_t memory_bytes = 0;
  std::uint64_t cpu_usec = 0;  // CPU time of every process it held, since it was created
};

// Where a group's usage is, for CgroupMeter; a path is "" when its controller is not used.
struct CgroupMeterFiles {
  std::string memory_usage;  // v1 memory.usage_in_bytes, v2 memory.current; memory.stat beside it
  const char* inactive_key = "";  // memory.stat's inactive file cache: v1 total_inactive_file, v2
                                  // inactive_file
  std::string cpu;                // v1 cpuacct.usage (one number, ns), v2 cpu.stat
  const char* cpu_key = "";       // "" when `cpu` is one number; v2 usage_usec
  bool cpu_in_ns = false;
};

// The CPU period herd writes with a quota (100 ms, the kernel's default).
inline constexpr std::uint64_t kCpuPeriodUsec = 100000;

class CgroupBackend {
 public:
  virtual ~CgroupBackend() = default;

  // "v1" or "v2".
  virtual std::string version() const = 0;
  // The controllers it manages ("memory", "cpu", "pids", ...), for `herd ping`.
  virtual std::vector<std::string> controllers() const = 0;
  // Where herd's group is (one directory per hierarchy on v1).
  virtual std::vector<std::string> roots() const = 0;

  // Creates herd's own group (EEXIST is fine) and on v2 enables the controllers for its
  // children. The error names the directory or file and the reason.
  virtual Status init() = 0;
  // Creates the group `name` (EEXIST when it exists already) and writes `limits` into it.
  virtual Status create(const std::string& name, const CgroupLimits& limits) = 0;
  // Its cgroup.procs files, opened for writing (CLOEXEC): a child writes its pid into each
  // before exec to join the group (spawn.h).
  virtual Result<std::vector<Fd>> open_procs(const std::string& name) const = 0;
  // The pids in the group (on v1, of the first hierarchy that has it).
  virtual std::vector<pid_t> pids(const std::string& name) const = 0;
  // SIGKILL to every process in the group (v2: cgroup.kill when the kernel has it).
  virtual void kill_all(const std::string& name) const = 0;
  // Memory and CPU of the group; nullopt when it cannot be read. (A one-off read; the sampler
  // keeps a CgroupMeter on meter_files() instead.)
  virtual std::optional<CgroupUsage> usage(const std::string& name) const;
  // The files that hold the group's usage.
  virtual CgroupMeterFiles meter_files(const std::string& name) const = 0;
  // How many times the kernel's OOM killer killed a process of the group.
  virtual std::uint64_t oom_kills(const std::string& name) const = 0;
  // Removes the group (rmdir); false while a process is still in it (or it cannot be removed).
  // true when it is gone, or was never there.
  virtual bool remove(const std::string& name) const = 0;
  // The groups under herd's (their names).
  virtual std::vector<std::string> groups() const = 0;
  // Removes herd's own group once it is empty; false when it cannot.
  virtual bool remove_root() const = 0;
};

}  // namespace herd::manager
