// ProcessGroups: the CPU time and memory of whole process groups, read from /proc once per
// sampling tick. An instance without a cgroup leads a process group (spawn() makes one) that
// holds its workers and their children: its figures are the group's sum.
//
// The object lives as long as the sampler and keeps what it learnt between ticks, so that a
// tick costs one pread(2) per process of the groups asked about, not a read of every process
// of the machine:
//   - the processes of a group asked about are read through a kept /proc/<pid>/stat descriptor
//     (kept_file.h), which also tells when one is gone (its read fails);
//   - /proc is listed (getdents) only when a process was created since the last tick
//     (/proc/sys/kernel/ns_last_pid moved, or cannot be read), and only the new pids are read,
//     once, to learn their group;
//   - every process is read (a full scan, what every tick did before) at the first tick, when a
//     group is asked about for the first time, and every kFullScanEvery ticks. That last one
//     bounds what the shortcuts cannot see: a process that joins a group it was not born in
//     (setpgid) is counted from the next full scan.
// A group asked about in no tick stops being read at the next one.
//
// Threads: one at a time (the daemon's loop thread).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "metrics/kept_file.h"
#include "metrics/proc_stats.h"

namespace herd::manager {

class ProcessGroups {
 public:
  static constexpr unsigned kFullScanEvery = 30;

  explicit ProcessGroups(std::string proc_root = "/proc");

  // A new sampling tick: the next group() reads /proc again (once for the tick). After a tick
  // that asked about no group, everything learnt is dropped (and every descriptor closed).
  void next_tick();
  // The sum over the processes of group `pgid` at this tick: their RSS, and their CPU time (each
  // one's own plus that of the children it has reaped, so that a worker that ended still
  // counts); nullopt when no process of the group was found.
  std::optional<ProcSample> group(pid_t pgid);

  // What the last tick read, for tests: /proc/<pid>/stat files read, whether /proc was listed,
  // whether every process was read.
  struct Cost {
    std::size_t stat_reads = 0;
    bool listed = false;
    bool full = false;
  };
  const Cost& last_cost() const { return cost_; }

 private:
  struct Proc {
    pid_t pgid = 0;
    ProcSample sample;
    KeptFile stat;              // set while the process is in a group asked about
    std::uint64_t read_at = 0;  // the tick of the last successful read
    std::uint64_t seen_at = 0;  // the listing that last found it
  };

  void refresh();
  // Lists /proc: forgets the processes gone, reads the new ones (every one when `full`).
  void scan(bool full);
  // Whether a process may have been created since the last call.
  bool pid_created();
  // Reads one process; false when it is gone.
  bool read(pid_t pid, Proc& p);
  void sum();

  std::string root_;
  KeptFile last_pid_;
  std::string last_pid_text_;
  std::unordered_map<pid_t, Proc> procs_;
  std::unordered_set<pid_t> wanted_;  // the groups asked about at the last tick and this one
  std::unordered_set<pid_t> asked_;   // the groups asked about at this tick
  std::unordered_map<pid_t, ProcSample> groups_;
  std::uint64_t tick_ = 0;
  std::uint64_t listing_ = 0;
  unsigned ticks_since_full_ = 0;
  bool fresh_ = false;
  bool full_this_tick_ = false;
  Cost cost_;
};

}  // namespace herd::manager
