// Reading a process's CPU time and memory from /proc, for `ls`, `monit` and metrics; and the
// same summed over a process group (an instance's whole tree when it has no cgroup).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <unordered_map>

namespace herd::manager {

struct ProcSample {
  std::uint64_t cpu_ms = 0;     // utime + stime, in milliseconds
  std::uint64_t rss_bytes = 0;  // resident set size
  pid_t ppid = 0;
  pid_t pgid = 0;
  // cutime + cstime: the CPU time of its children it has waited for (ms).
  std::uint64_t children_cpu_ms = 0;
};

// nullopt when the process is gone (or not readable).
std::optional<ProcSample> sample_process(pid_t pid);
// The same, parsed from the text of a /proc/<pid>/stat file.
std::optional<ProcSample> parse_proc_stat(char* text);

// Every process of the machine by process group, from one scan of /proc made at the first
// question (so a tick that asks nothing scans nothing). One object per sampling tick, shared by
// every instance: the cost is one scan per tick, not one per instance.
//
// Threads: one at a time.
class ProcessGroups {
 public:
  explicit ProcessGroups(const char* proc_root = "/proc") : proc_root_(proc_root) {}
  // The sum over the processes of group `pgid`: their RSS, and their CPU time (each one's own
  // plus that of the children it has reaped, so that a worker that ended still counts); nullopt
  // when no process of the group was found.
  std::optional<ProcSample> group(pid_t pgid);

 private:
  void scan();
  const char* proc_root_;
  bool scanned_ = false;
  std::unordered_map<pid_t, ProcSample> groups_;
};

// Tracks one process's CPU use between samples: percent of one CPU, like `ps` and PM2.
class CpuMeter {
 public:
  // Feeds a sample taken at `now_ms` (monotonic); returns the percentage since the last one.
  double update(std::uint64_t cpu_ms, std::uint64_t now_ms);
  void reset() { last_at_ = 0; }

 private:
  std::uint64_t last_cpu_ = 0;
  std::uint64_t last_at_ = 0;
  double percent_ = 0;
};

}  // namespace herd::manager
