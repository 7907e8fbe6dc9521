#include "daemon/cgroup/cgroup_v2.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "daemon/cgroup/cgroup_files.h"

namespace herd::manager {
namespace {

using namespace cgroup;

constexpr const char* kWanted[] = {"memory", "cpu", "pids"};

}  // namespace

CgroupV2::CgroupV2(std::string parent, std::string name)
    : parent_(std::move(parent)), name_(std::move(name)), root_(parent_ + "/" + name_) {}

Status CgroupV2::enable_controllers(const std::string& dir) const {
  std::string text;
  for (const std::string& c : controllers_) text += (text.empty() ? "+" : " +") + c;
  return write_text(dir + "/cgroup.subtree_control", text);
}

Status CgroupV2::init() {
  auto available = read_text(parent_ + "/cgroup.controllers");
  if (!available) return fail_errno(fmt::format("reading {}/cgroup.controllers", parent_));
  controllers_.clear();
  std::string words = " " + *available + " ";
  std::replace(words.begin(), words.end(), '\n', ' ');
  for (const char* c : kWanted) {
    if (words.find(fmt::format(" {} ", c)) != std::string::npos) controllers_.emplace_back(c);
  }
  if (controllers_.empty()) {
    return fail(ENOTSUP,
                fmt::format("no memory, cpu or pids controller is delegated to {}", parent_));
  }
  if (Status s = make_dir(root_, true); !s) return s;
  Status enabled = enable_controllers(parent_);
  if (!enabled && enabled.error().code() == EBUSY) {
    // The daemon is in the parent: it moves to a leaf of its own, then the parent may delegate.
    std::string leaf = parent_ + "/" + name_ + "-daemon";
    if (Status s = make_dir(leaf, true); !s) return s;
    if (Status s = write_text(leaf + "/cgroup.procs", std::to_string(::getpid())); !s) return s;
    enabled = enable_controllers(parent_);
  }
  if (!enabled) return enabled;
  return enable_controllers(root_);
}

Status CgroupV2::create(const std::string& name, const CgroupLimits& limits) {
  auto has = [&](const char* c) {
    return std::find(controllers_.begin(), controllers_.end(), c) != controllers_.end();
  };
  if (Status s = require_controllers(limits, has, "v2", "which is not delegated to herd here");
      !s) {
    return s;
  }
  std::string dir = root_ + "/" + name;
  if (Status s = make_dir(dir, false); !s) return s;
  Status written = [&]() -> Status {
    if (limits.memory_max != 0) {
      if (Status s = write_text(dir + "/memory.max", std::to_string(limits.memory_max)); !s) {
        return s;
      }
      // Where swap exists, the group may not use it: the limit is hard.
      if (::access((dir + "/memory.swap.max").c_str(), F_OK) == 0) {
        if (Status s = write_text(dir + "/memory.swap.max", "0"); !s) return s;
      }
    }
    if (limits.cpu_milli != 0) {
      std::uint64_t quota = limits.cpu_milli * kCpuPeriodUsec / 1000;
      if (Status s = write_text(dir + "/cpu.max", fmt::format("{} {}", quota, kCpuPeriodUsec));
          !s) {
        return s;
      }
    }
    if (limits.max_tasks != 0) {
      return write_text(dir + "/pids.max", std::to_string(limits.max_tasks));
    }
    return {};
  }();
  if (!written) (void)remove(name);
  return written;
}

Result<std::vector<Fd>> CgroupV2::open_procs(const std::string& name) const {
  std::string path = root_ + "/" + name + "/cgroup.procs";
  auto fd = Fd::open(path.c_str(), O_WRONLY);
  if (!fd) return fail(fd.error().code(), fmt::format("opening {}", path));
  std::vector<Fd> fds;
  fds.push_back(std::move(*fd));
  return fds;
}

std::vector<pid_t> CgroupV2::pids(const std::string& name) const {
  return read_pids(root_ + "/" + name + "/cgroup.procs");
}

void CgroupV2::kill_all(const std::string& name) const {
  std::string kill_file = root_ + "/" + name + "/cgroup.kill";
  if (::access(kill_file.c_str(), F_OK) == 0 && write_text(kill_file, "1")) return;
  for (int round = 0; round < 4; ++round) {
    std::vector<pid_t> found = pids(name);
    if (found.empty()) return;
    for (pid_t p : found) ::kill(p, SIGKILL);
  }
}

CgroupMeterFiles CgroupV2::meter_files(const std::string& name) const {
  // Without the memory controller memory.current is absent and reads as nothing; cpu.stat's
  // usage_usec is there with or without the cpu controller.
  std::string dir = root_ + "/" + name;
  CgroupMeterFiles f;
  f.memory_usage = dir + "/memory.current";
  f.inactive_key = "inactive_file";
  f.cpu = dir + "/cpu.stat";
  f.cpu_key = "usage_usec";
  return f;
}

std::uint64_t CgroupV2::oom_kills(const std::string& name) const {
  return read_keyed(root_ + "/" + name + "/memory.events", "oom_kill").value_or(0);
}

bool CgroupV2::remove(const std::string& name) const {
  std::string dir = root_ + "/" + name;
  return ::rmdir(dir.c_str()) == 0 || errno == ENOENT;
}

std::vector<std::string> CgroupV2::groups() const { return subdirs(root_); }

bool CgroupV2::remove_root() const { return ::rmdir(root_.c_str()) == 0 || errno == ENOENT; }

}  // namespace herd::manager
