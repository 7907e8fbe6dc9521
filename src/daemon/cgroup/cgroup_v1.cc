#include "daemon/cgroup/cgroup_v1.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include "daemon/cgroup/cgroup_files.h"

namespace herd::manager {
namespace {

using namespace cgroup;

}  // namespace

CgroupV1::CgroupV1(std::map<std::string, std::string> dirs) : dirs_(std::move(dirs)) {}

std::vector<std::string> CgroupV1::controllers() const {
  std::vector<std::string> out;
  for (const auto& [name, dir] : dirs_) out.push_back(name);
  return out;
}

std::vector<std::string> CgroupV1::roots() const {
  std::set<std::string> unique;
  for (const auto& [name, dir] : dirs_) unique.insert(dir);
  return {unique.begin(), unique.end()};
}

std::string CgroupV1::dir(const std::string& controller, const std::string& name) const {
  auto it = dirs_.find(controller);
  return it == dirs_.end() ? std::string() : it->second + "/" + name;
}

Status CgroupV1::init() {
  for (const std::string& root : roots()) {
    if (Status s = make_dir(root, true); !s) return s;
  }
  return {};
}

Status CgroupV1::create(const std::string& name, const CgroupLimits& limits) {
  auto has = [&](const char* c) { return dirs_.contains(c); };
  if (Status s = require_controllers(limits, has, "v1", "which herd cannot use here"); !s) {
    return s;
  }
  std::vector<std::string> roots_list = roots();
  for (std::size_t i = 0; i < roots_list.size(); ++i) {
    // The first hierarchy decides whether the name is free; the others follow it.
    if (Status s = make_dir(roots_list[i] + "/" + name, i > 0); !s) {
      if (i > 0) (void)remove(name);
      return s;
    }
  }
  Status written = [&]() -> Status {
    if (limits.memory_max != 0) {
      std::string bytes = std::to_string(limits.memory_max);
      if (Status s = write_text(dir("memory", name) + "/memory.limit_in_bytes", bytes); !s) {
        return s;
      }
      // With swap accounting, memory+swap gets the same bound: the limit stays hard.
      std::string memsw = dir("memory", name) + "/memory.memsw.limit_in_bytes";
      if (::access(memsw.c_str(), F_OK) == 0) {
        if (Status s = write_text(memsw, bytes); !s) return s;
      }
    }
    if (limits.cpu_milli != 0) {
      std::string d = dir("cpu", name);
      std::uint64_t quota = limits.cpu_milli * kCpuPeriodUsec / 1000;
      if (Status s = write_text(d + "/cpu.cfs_period_us", std::to_string(kCpuPeriodUsec)); !s) {
        return s;
      }
      if (Status s = write_text(d + "/cpu.cfs_quota_us", std::to_string(quota)); !s) return s;
    }
    if (limits.max_tasks != 0) {
      return write_text(dir("pids", name) + "/pids.max", std::to_string(limits.max_tasks));
    }
    return {};
  }();
  if (!written) (void)remove(name);
  return written;
}

Result<std::vector<Fd>> CgroupV1::open_procs(const std::string& name) const {
  std::vector<Fd> fds;
  for (const std::string& root : roots()) {
    std::string path = root + "/" + name + "/cgroup.procs";
    auto fd = Fd::open(path.c_str(), O_WRONLY);
    if (!fd) return fail(fd.error().code(), fmt::format("opening {}", path));
    fds.push_back(std::move(*fd));
  }
  return fds;
}

std::vector<pid_t> CgroupV1::pids(const std::string& name) const {
  std::set<pid_t> all;
  for (const std::string& root : roots()) {
    for (pid_t p : read_pids(root + "/" + name + "/cgroup.procs")) all.insert(p);
  }
  return {all.begin(), all.end()};
}

void CgroupV1::kill_all(const std::string& name) const {
  // A process may fork while it is being killed: a few rounds catch what it made meanwhile
  // (a SIGKILLed process forks no more, so each round has less to find).
  for (int round = 0; round < 4; ++round) {
    std::vector<pid_t> found = pids(name);
    if (found.empty()) return;
    for (pid_t p : found) ::kill(p, SIGKILL);
  }
}

CgroupMeterFiles CgroupV1::meter_files(const std::string& name) const {
  CgroupMeterFiles f;
  if (std::string d = dir("memory", name); !d.empty()) {
    f.memory_usage = d + "/memory.usage_in_bytes";
    f.inactive_key = "total_inactive_file";
  }
  if (std::string d = dir("cpuacct", name); !d.empty()) {
    f.cpu = d + "/cpuacct.usage";
    f.cpu_in_ns = true;
  }
  return f;
}

std::uint64_t CgroupV1::oom_kills(const std::string& name) const {
  std::string d = dir("memory", name);
  if (d.empty()) return 0;
  return read_keyed(d + "/memory.oom_control", "oom_kill").value_or(0);
}

bool CgroupV1::remove(const std::string& name) const {
  bool gone = true;
  for (const std::string& root : roots()) {
    std::string path = root + "/" + name;
    if (::rmdir(path.c_str()) < 0 && errno != ENOENT) gone = false;
  }
  return gone;
}

std::vector<std::string> CgroupV1::groups() const {
  std::set<std::string> all;
  for (const std::string& root : roots()) {
    for (std::string& name : subdirs(root)) all.insert(std::move(name));
  }
  return {all.begin(), all.end()};
}

bool CgroupV1::remove_root() const {
  bool gone = true;
  for (const std::string& root : roots()) {
    if (::rmdir(root.c_str()) < 0 && errno != ENOENT) gone = false;
  }
  return gone;
}

}  // namespace herd::manager
