// CgroupV2: the cgroup v2 (unified) backend. herd's group is a child of the daemon's own
// cgroup, with the memory, cpu and pids controllers enabled for its children.
//
//   max_memory -> memory.max (and memory.swap.max = 0 where swap exists: the limit is hard)
//   cpu_quota  -> cpu.max "<quota> 100000"
//   max_tasks  -> pids.max
//   usage      -> memory.current - inactive_file (memory.stat), usage_usec (cpu.stat)
//   OOM kills  -> oom_kill in memory.events
//   kill       -> cgroup.kill (Linux 5.14), else SIGKILL to each pid of cgroup.procs
//
// v2's "no internal processes" rule: controllers can be enabled for the children of a group
// only while the group itself holds no process. The daemon lives in its own cgroup (a systemd
// unit with Delegate=yes gives it one), so when enabling them there fails with EBUSY, init()
// moves the daemon into a leaf beside herd's group ("<group>-daemon") and tries again, as
// systemd's documentation on delegation asks of a delegated manager.
#pragma once

#include <string>

#include "daemon/cgroup/cgroup_backend.h"

namespace herd::manager {

class CgroupV2 : public CgroupBackend {
 public:
  // `parent`: the daemon's own cgroup directory; `name`: herd's group under it.
  CgroupV2(std::string parent, std::string name);

  std::string version() const override { return "v2"; }
  std::vector<std::string> controllers() const override { return controllers_; }
  std::vector<std::string> roots() const override { return {root_}; }
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
  Status enable_controllers(const std::string& dir) const;

  std::string parent_;
  std::string name_;
  std::string root_;
  std::vector<std::string> controllers_;
};

}  // namespace herd::manager
