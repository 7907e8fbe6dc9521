// Reading a process's CPU time and memory from /proc, for `ls`, `monit` and metrics (the sums
// over a process group are process_groups.h).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>

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
