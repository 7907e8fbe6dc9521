#include "metrics/process_groups.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <vector>

namespace herd::manager {
namespace {

// A process's stat line fits: the command name is at most 64 bytes, the 52 numbers at most 20.
constexpr std::size_t kStatBuf = 1536;

}  // namespace

ProcessGroups::ProcessGroups(std::string proc_root)
    : root_(std::move(proc_root)), last_pid_(root_ + "/sys/kernel/ns_last_pid") {}

bool ProcessGroups::pid_created() {
  char buf[32];
  ssize_t n = last_pid_.read(buf, sizeof(buf));
  if (n <= 0) return true;
  if (last_pid_text_ == buf) return false;
  last_pid_text_ = buf;
  return true;
}

bool ProcessGroups::read(pid_t pid, Proc& p) {
  ++cost_.stat_reads;
  // A process of a group asked about reads through its kept descriptor; any other through one
  // opened for this read, which it keeps if the process turns out to be in such a group.
  KeptFile once;
  KeptFile* file = &p.stat;
  if (p.stat.path().empty()) {
    char path[300];
    std::snprintf(path, sizeof(path), "%s/%d/stat", root_.c_str(), static_cast<int>(pid));
    once = KeptFile(path);
    file = &once;
  }
  char buf[kStatBuf];
  if (file->read(buf, sizeof(buf)) <= 0) return false;
  auto s = parse_proc_stat(buf);
  if (!s || s->pgid <= 0) return false;
  p.sample = *s;
  p.pgid = s->pgid;
  p.read_at = tick_;
  bool wanted = wanted_.contains(p.pgid);
  if (wanted && file == &once) {
    p.stat = std::move(once);
  } else if (!wanted && file == &p.stat) {
    p.stat = KeptFile();  // it left the group, or the group is no longer asked about
  }
  return true;
}

void ProcessGroups::scan(bool full) {
  cost_.listed = true;
  if (full) {
    cost_.full = true;
    full_this_tick_ = true;
    ticks_since_full_ = 0;
  }
  ++listing_;
  DIR* d = ::opendir(root_.c_str());
  if (d == nullptr) return;
  std::vector<pid_t> gone;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    pid_t pid = static_cast<pid_t>(std::strtol(e->d_name, nullptr, 10));
    auto [it, added] = procs_.try_emplace(pid);
    it->second.seen_at = listing_;
    if ((added || full) && !read(pid, it->second)) gone.push_back(pid);
  }
  ::closedir(d);
  for (pid_t pid : gone) procs_.erase(pid);
  std::erase_if(procs_, [&](const auto& kv) { return kv.second.seen_at != listing_; });
}

void ProcessGroups::next_tick() {
  if (!fresh_ && !procs_.empty()) {
    // The tick that ended asked about nothing (no instance left without a cgroup): nothing is
    // kept for groups nobody may ask about again; a later question starts with a full scan.
    procs_.clear();
    wanted_.clear();
    groups_.clear();
    last_pid_.close();
    ticks_since_full_ = kFullScanEvery;
  }
  fresh_ = false;
}

void ProcessGroups::refresh() {
  fresh_ = true;
  full_this_tick_ = false;
  ++tick_;
  cost_ = {};
  // The groups of the last tick stay wanted until a tick passes without them.
  wanted_ = std::move(asked_);
  asked_.clear();
  // ns_last_pid is read before the listing: a pid created after it was read moves it again.
  bool created = pid_created();
  if (++ticks_since_full_ >= kFullScanEvery || tick_ == 1) {
    scan(true);
  } else {
    if (created) scan(false);
    std::vector<pid_t> gone;
    for (auto& [pid, p] : procs_) {
      if (!wanted_.contains(p.pgid)) {
        if (!p.stat.path().empty()) p.stat = KeptFile();  // its group is no longer asked about
      } else if (p.read_at != tick_ && !read(pid, p)) {
        gone.push_back(pid);
      }
    }
    for (pid_t pid : gone) procs_.erase(pid);
  }
  sum();
}

void ProcessGroups::sum() {
  groups_.clear();
  for (const auto& [pid, p] : procs_) {
    if (p.read_at != tick_) continue;  // not read this tick: its group is not asked about
    ProcSample& g = groups_[p.pgid];
    g.pgid = p.pgid;
    g.rss_bytes += p.sample.rss_bytes;
    g.cpu_ms += p.sample.cpu_ms + p.sample.children_cpu_ms;
  }
}

std::optional<ProcSample> ProcessGroups::group(pid_t pgid) {
  if (!fresh_) refresh();
  asked_.insert(pgid);
  if (wanted_.insert(pgid).second && !full_this_tick_) {
    // A group not asked about before: its processes are found by reading every one (once per
    // tick however many new groups are asked about; their descriptors are kept from the next).
    scan(true);
    sum();
  }
  auto it = groups_.find(pgid);
  if (it == groups_.end()) return std::nullopt;
  return it->second;
}

}  // namespace herd::manager
