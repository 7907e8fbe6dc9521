// CgroupTree: herd's cgroups for one daemon (one HERD_HOME): whether they are on, and the group
// of each instance.
//
// At daemon start, detect() finds where the daemon itself lives (/proc/self/mountinfo and
// /proc/self/cgroup), picks cgroup v2 when the unified hierarchy offers memory, cpu or pids
// there, else v1's hierarchies, and creates herd's group "herd-<hash of HERD_HOME>" under the
// daemon's own group. That needs root, or a delegated subtree (systemd's Delegate=yes); when it
// cannot, cgroups are off and reason() says why (`herd ping` and herd.log show it).
// HERD_CGROUPS=off turns them off on purpose.
//
// Each instance's process runs in a group of its own, "<app>-<id>-<n>" (a reload's replacement
// runs beside the old process, so each spawn gets a new one). release() kills what is left in a
// group and removes it; a group whose last processes are still exiting is removed by a later
// sweep().
//
// Threads: the daemon's loop thread only.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/cgroup/cgroup_backend.h"

namespace herd::manager {

// Where the daemon's own cgroups are, read from /proc/self/mountinfo and /proc/self/cgroup.
struct CgroupLayout {
  std::string v2_dir;                     // the daemon's v2 cgroup directory; "" = none
  std::map<std::string, std::string> v1;  // controller -> the daemon's v1 group directory
};
CgroupLayout find_cgroup_layout(std::string_view mountinfo, std::string_view self_cgroup);

// "herd-" and 12 hex digits of a hash of the home directory's path and identity (device and
// inode, when it exists): another directory made at the same path gets another name.
std::string cgroup_group_name(const std::string& home_dir);

class CgroupTree {
 public:
  // On, with `backend` already initialised.
  explicit CgroupTree(std::unique_ptr<CgroupBackend> backend);
  // Off, for `reason`.
  explicit CgroupTree(std::string reason);

  // Detects and creates herd's group for `home_dir`; never fails (off, with the reason).
  static std::unique_ptr<CgroupTree> detect(const std::string& home_dir);

  bool enabled() const { return backend_ != nullptr; }
  // Why cgroups are off ("" when on).
  const std::string& reason() const { return reason_; }
  // For `herd ping`: {"enabled": true, "version": "v1", "controllers": [...], "root": [...]}
  // or {"enabled": false, "reason": "..."}.
  nlohmann::json to_json() const;
  // One line for herd.log.
  std::string summary() const;

  // A new group for an instance (`base` = "<app>-<id>"), with `limits`; its name. Only when
  // enabled().
  Result<std::string> create(const std::string& base, const CgroupLimits& limits);
  CgroupBackend& backend() const { return *backend_; }
  // Kills whatever is left in `name` and removes it, now or at a later sweep().
  void release(const std::string& name);
  // Retries the removals still pending (the sampler calls it every second).
  void sweep();
  // At a fresh daemon start: groups a previous daemon of this home left behind when it died
  // are emptied and removed.
  void reclaim_stale();
  // At daemon stop: every group emptied and removed, herd's own last. Waits up to `wait_ms`
  // for killed processes to go (the loop has ended by then), calling `reap` between tries: on
  // v1 a zombie still holds its group until its parent (the daemon, their subreaper) reaps it.
  void remove_all(int wait_ms, const std::function<void()>& reap = {});

 private:
  std::unique_ptr<CgroupBackend> backend_;
  std::string reason_;
  std::set<std::string> pending_;  // released groups still to remove
  unsigned serial_ = 0;
};

}  // namespace herd::manager
