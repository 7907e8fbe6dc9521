// CgroupV1: the cgroup v1 backend, one hierarchy per controller (memory, cpu, cpuacct, pids,
// each possibly co-mounted with another). A group exists in every hierarchy herd uses; joining
// it means writing one's pid into each hierarchy's cgroup.procs.
//
//   max_memory -> memory.limit_in_bytes (and memory.memsw.limit_in_bytes when swap is
//                 accounted, so that the limit is hard and the OOM killer acts)
//   cpu_quota  -> cpu.cfs_period_us = 100000, cpu.cfs_quota_us = the share of it
//   max_tasks  -> pids.max
//   usage      -> memory.usage_in_bytes - total_inactive_file (memory.stat), cpuacct.usage
//   OOM kills  -> oom_kill in memory.oom_control
//   kill       -> SIGKILL to each pid of cgroup.procs, in every hierarchy
#pragma once

#include <map>
#include <string>

#include "daemon/cgroup/cgroup_backend.h"

namespace herd::manager {

class CgroupV1 : public CgroupBackend {
 public:
  // `dirs`: controller name -> herd's group directory in that controller's hierarchy (two
  // controllers mounted together share one).
  explicit CgroupV1(std::map<std::string, std::string> dirs);

  std::string version() const override { return "v1"; }
  std::vector<std::string> controllers() const override;
  std::vector<std::string> roots() const override;
  Status init() override;
  Status create(const std::string& name, const CgroupLimits& limits) override;
  Result<std::vector<Fd>> open_procs(const std::string& name) const override;
  std::vector<pid_t> pids(const std::string& name) const override;
  void kill_all(const std::string& name) const override;
  CgroupMeterFiles meter_files(const std::string& name) const override;
  std::uint64_t oom_kills(const std::string& name) const override;
  bool remove(const std::string& name) const override;
  std::vector<std::string> groups() const override;
  bool remove_root() const override;

 private:
  // The group's directory in `controller`'s hierarchy; "" when herd does not use it.
  std::string dir(const std::string& controller, const std::string& name) const;

  std::map<std::string, std::string> dirs_;
};

}  // namespace herd::manager
