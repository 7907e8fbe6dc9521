// CgroupMeter: one group's memory and CPU, read at every sample of its instance (once a second)
// at the cost of two pread(2)s: the usage files are kept open (metrics/kept_file.h), and the
// group's memory.stat (long, and slow for the kernel to generate) is read only for what it
// corrects.
//
// The memory figure is the usage minus the inactive file cache (memory.stat's
// total_inactive_file on v1, inactive_file on v2). That cache is read again when:
//   - kStatEveryMs have passed since it was read,
//   - the usage moved by more than kStatMovedBytes since then (the group read or wrote files, or
//     its memory grew or shrank: the cache may have moved with it),
//   - or the figure would be above `fresh_above` (an app's max_memory_restart): a restart is
//     never decided on a cache figure older than this sample.
// An idle instance therefore reads memory.stat once every 10 s instead of every second; its
// figure may lag by up to that much only where pages move between the active and inactive
// lists with the usage unchanged.
//
// The meter is made by the backend (CgroupBackend::meter_files) for a group that exists; its
// descriptors are closed with it (the instance drops it when its group is released) and are
// CLOEXEC. A group removed under it reads as nullopt.
//
// Threads: one at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "daemon/cgroup/cgroup_backend.h"
#include "metrics/kept_file.h"

namespace herd::manager {

class CgroupMeter {
 public:
  static constexpr std::uint64_t kStatEveryMs = 10000;
  static constexpr std::uint64_t kStatMovedBytes = 1u << 20;

  explicit CgroupMeter(const CgroupMeterFiles& files);

  // The group's use at `now_ms` (monotonic); nullopt when neither its memory nor its CPU can be
  // read. `fresh_above`: 0, or a memory figure above which the inactive cache is read now.
  std::optional<CgroupUsage> read(std::uint64_t now_ms, std::uint64_t fresh_above = 0);

  // How many times memory.stat was read (tests).
  std::uint64_t stat_reads() const { return stat_reads_; }

 private:
  std::optional<std::uint64_t> read_cpu_usec();
  void read_inactive(std::uint64_t now_ms, std::uint64_t usage);

  // A thousand instances hold one each: the paths are kept once (memory.stat's is made from
  // memory_'s when it is read), the keys are literals.
  KeptFile memory_;
  KeptFile cpu_;
  const char* inactive_key_;
  const char* cpu_key_;
  bool cpu_in_ns_;
  std::uint64_t inactive_ = 0;
  std::uint64_t stat_at_ms_ = 0;
  std::uint64_t usage_at_stat_ = 0;
  bool stat_read_ = false;
  std::uint64_t stat_reads_ = 0;
};

}  // namespace herd::manager
