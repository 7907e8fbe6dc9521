#include "e2e/cgroup_cleanup.h"

#include <unistd.h>

#include <vector>

#include "daemon/cgroup/cgroup_files.h"
#include "daemon/cgroup/cgroup_tree.h"

namespace herd::e2e {

namespace {

// The directories under which herd makes a home's group: the test's own group in each hierarchy.
std::vector<std::string> cgroup_parents() {
  using namespace manager;
  auto mountinfo = cgroup::read_text("/proc/self/mountinfo");
  auto self = cgroup::read_text("/proc/self/cgroup");
  if (!mountinfo || !self) return {};
  CgroupLayout layout = find_cgroup_layout(*mountinfo, *self);
  std::vector<std::string> parents;
  for (const auto& [controller, dir] : layout.v1) parents.push_back(dir);
  if (!layout.v2_dir.empty()) parents.push_back(layout.v2_dir);
  return parents;
}

}  // namespace

std::vector<std::string> cgroups_of_home(const std::string& home) {
  std::vector<std::string> out;
  for (const std::string& parent : cgroup_parents()) {
    std::string dir = parent + "/" + manager::cgroup_group_name(home);
    if (::access(dir.c_str(), F_OK) == 0) out.push_back(dir);
  }
  return out;
}

void remove_cgroups_of_home(const std::string& home) {
  using namespace manager;
  std::string name = cgroup_group_name(home);
  for (const std::string& parent : cgroup_parents()) {
    std::string root = parent + "/" + name;
    for (const std::string& group : cgroup::subdirs(root)) {
      // What is left (a process the test's teardown already killed) goes up, then the group.
      for (pid_t pid : cgroup::read_pids(root + "/" + group + "/cgroup.procs")) {
        (void)cgroup::write_text(parent + "/cgroup.procs", std::to_string(pid));
      }
      ::rmdir((root + "/" + group).c_str());
    }
    ::rmdir(root.c_str());
  }
}

}  // namespace herd::e2e
