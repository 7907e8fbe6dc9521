// An instance's cgroup (cgroup/cgroup_tree.h, docs/resources.md): one per process, created
// before the spawn with the app's limits (max_memory, cpu_quota, max_tasks) and joined by the
// child before exec; what is left in it is killed when the process ends or a stop runs out of
// time, and the kernel's OOM kills are reported as the exit reason "oom".
#include <fmt/format.h>
#include <signal.h>

#include "daemon/app.h"
#include "daemon/cgroup/cgroup_tree.h"
#include "daemon/instance.h"
#include "daemon/spawn.h"
#include "herd/base/log.h"

namespace herd::manager {
namespace {

CgroupLimits limits_of(const AppSpec& spec) {
  return {.memory_max = spec.max_memory, .cpu_milli = spec.cpu_quota, .max_tasks = spec.max_tasks};
}

}  // namespace

Status Instance::prepare_cgroup(SpawnOptions& o, std::vector<Fd>* procs) {
  CgroupTree* tree = host_.cgroups();
  CgroupLimits limits = limits_of(app_->spec);
  if (tree == nullptr || !tree->enabled()) {
    if (!limits.any()) return {};
    const char* key = limits.memory_max  ? "max_memory"
                      : limits.cpu_milli ? "cpu_quota"
                                         : "max_tasks";
    return fail(EINVAL, fmt::format("{} needs cgroups, which are off: {}", key,
                                    tree ? tree->reason() : "this daemon has none"));
  }
  auto name = tree->create(fmt::format("{}-{}", app_->name, id_), limits);
  if (!name) return std::unexpected(name.error());
  auto fds = tree->backend().open_procs(*name);
  if (!fds) {
    tree->release(*name);
    return std::unexpected(fds.error());
  }
  // The previous run's group, if a stop left one, goes now: a process has one group at a time.
  cgroup_meter_.reset();
  if (!cgroup_.empty()) tree->release(cgroup_);
  cgroup_ = std::move(*name);
  oom_kills_seen_ = 0;
  *procs = std::move(*fds);
  for (const Fd& fd : *procs) o.cgroup_procs_fds.push_back(fd.get());
  return {};
}

void Instance::kill_all() {
  if (pid_ > 0 && ::kill(-pid_, SIGKILL) < 0) ::kill(pid_, SIGKILL);
  if (CgroupTree* tree = host_.cgroups(); tree && tree->enabled() && !cgroup_.empty()) {
    tree->backend().kill_all(cgroup_);
  }
}

void Instance::end_cgroup() {
  exit_reason_.clear();
  CgroupTree* tree = host_.cgroups();
  if (tree == nullptr || !tree->enabled() || cgroup_.empty()) return;
  // The OOM killer picks the largest process of the group: the instance's own when it exits by
  // SIGKILL with a kill counted in the group, which herd did not send.
  if (last_signal_ == SIGKILL && kill_reason_.empty() && !stop_requested_ &&
      tree->backend().oom_kills(cgroup_) > 0) {
    exit_reason_ = "oom";
    kill_reason_ = fmt::format("killed by the kernel's OOM killer (over max_memory {} bytes)",
                               app_->spec.max_memory);
  }
  cgroup_meter_.reset();
  tree->release(cgroup_);
  cgroup_.clear();
}

bool Instance::sample_cgroup(std::uint64_t now_mono_ms) {
  CgroupTree* tree = host_.cgroups();
  if (tree == nullptr || !tree->enabled() || cgroup_.empty()) return false;
  if (!cgroup_meter_) cgroup_meter_.emplace(tree->backend().meter_files(cgroup_));
  // Above max_memory_restart, the figure is made of fresh reads only (cgroup_meter.h).
  auto u = cgroup_meter_->read(now_mono_ms, app_->spec.max_memory_restart);
  if (!u) return false;
  // A worker the OOM killer took is said in herd.log (the instance's own process ends, and is
  // reported by end_cgroup).
  if (app_->spec.max_memory != 0) {
    if (std::uint64_t kills = tree->backend().oom_kills(cgroup_); kills > oom_kills_seen_) {
      log_warn(
          "app {} (id {}): the kernel's OOM killer killed {} process(es) of it (max_memory {} "
          "bytes)",
          app_->name, id_, kills - oom_kills_seen_, app_->spec.max_memory);
      oom_kills_seen_ = kills;
    }
  }
  std::uint64_t cpu_ms = u->cpu_usec / 1000;
  cpu_percent_ = cpu_.update(cpu_ms, now_mono_ms);
  rss_bytes_ = u->memory_bytes;
  cpu_time_ms_ = cpu_ms;
  return true;
}

}  // namespace herd::manager
