#include "base/usable_cpus.h"

#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <thread>

namespace herd {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

std::optional<std::int64_t> whole_number(std::string_view s) {
  s = trim(s);
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// quota/period CPUs, rounded up, at least 1; nullopt for "no limit" (a quota below 1).
std::optional<int> cpus_of(std::int64_t quota, std::int64_t period) {
  if (quota <= 0 || period <= 0) return std::nullopt;
  std::int64_t cpus = quota / period + (quota % period != 0 ? 1 : 0);
  return static_cast<int>(std::clamp<std::int64_t>(cpus, 1, 1 << 20));
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (std::size_t at = 0;;) {
    std::size_t next = s.find(sep, at);
    out.push_back(s.substr(at, next == std::string_view::npos ? next : next - at));
    if (next == std::string_view::npos) return out;
    at = next + 1;
  }
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto octal = [&](std::size_t k) { return s[k] >= '0' && s[k] <= '7'; };
    if (s[i] == '\\' && i + 3 < s.size() && octal(i + 1) && octal(i + 2) && octal(i + 3)) {
      out.push_back(
          static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

struct CgroupMount {
  std::string root;   // the mount's root within the hierarchy
  std::string point;  // where it is mounted
};

// The mounts of the v2 hierarchy (`v2`) or of the v1 hierarchy holding the `cpu` controller.
std::vector<CgroupMount> cgroup_mounts(std::string_view mountinfo, bool v2) {
  std::vector<CgroupMount> out;
  for (std::string_view line : split(mountinfo, '\n')) {
    // id parent major:minor root mount-point options [optional...] - fstype source super-options
    std::size_t dash = line.find(" - ");
    if (dash == std::string_view::npos) continue;
    std::vector<std::string_view> head = split(line.substr(0, dash), ' ');
    std::vector<std::string_view> tail = split(line.substr(dash + 3), ' ');
    if (head.size() < 5 || tail.size() < 3) continue;
    if (v2 ? tail[0] != "cgroup2" : tail[0] != "cgroup") continue;
    if (!v2) {
      auto opts = split(tail[2], ',');
      if (std::find(opts.begin(), opts.end(), "cpu") == opts.end()) continue;
    }
    out.push_back({unescape(head[3]), unescape(head[4])});
  }
  return out;
}

// The process's cgroup path in the v2 hierarchy ("0::/path") or the v1 one listing `cpu`.
std::optional<std::string> cgroup_path(std::string_view proc_cgroup, bool v2) {
  for (std::string_view line : split(proc_cgroup, '\n')) {
    std::size_t c1 = line.find(':');
    std::size_t c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) continue;
    std::string_view controllers = line.substr(c1 + 1, c2 - c1 - 1);
    bool match = v2 ? line.substr(0, c1) == "0" && controllers.empty()
                    : std::ranges::count(split(controllers, ','), "cpu") > 0;
    if (match) return std::string(line.substr(c2 + 1));
  }
  return std::nullopt;
}

void add_dirs(std::string_view proc_cgroup, std::string_view mountinfo, bool v2,
              std::vector<CgroupDir>* out) {
  auto path = cgroup_path(proc_cgroup, v2);
  if (!path) return;
  auto mounts = cgroup_mounts(mountinfo, v2);
  if (mounts.empty()) return;
  // The mount whose root holds the path; failing that, the first one (the path is then not
  // reachable through it, and its mount point is as close as we can get).
  const CgroupMount* mount = &mounts.front();
  std::string rel;
  for (const CgroupMount& m : mounts) {
    std::string root = m.root == "/" ? "" : m.root;
    if (path->compare(0, root.size(), root) == 0 &&
        (path->size() == root.size() || (*path)[root.size()] == '/')) {
      mount = &m;
      rel = path->substr(root.size());
      break;
    }
  }
  std::string point = mount->point == "/" ? "" : mount->point;
  while (!rel.empty() && rel.back() == '/') rel.pop_back();
  for (;;) {
    std::string dir = point + rel;
    out->push_back({v2, dir.empty() ? std::string(1, '/') : std::move(dir)});
    if (rel.empty()) break;
    rel.resize(rel.rfind('/'));
  }
}

}  // namespace

std::optional<int> cpu_max_limit(std::string_view cpu_max) {
  auto fields = split(trim(cpu_max), ' ');
  if (fields.empty() || fields[0] == "max") return std::nullopt;
  auto quota = whole_number(fields[0]);
  // The period may be left out when the file is written; the kernel's default is 100 ms.
  auto period = fields.size() > 1 ? whole_number(fields[1]) : std::optional<std::int64_t>(100000);
  if (!quota || !period) return std::nullopt;
  return cpus_of(*quota, *period);
}

std::optional<int> cfs_quota_limit(std::string_view quota_us, std::string_view period_us) {
  auto quota = whole_number(quota_us);
  auto period = whole_number(period_us);
  if (!quota || !period) return std::nullopt;
  return cpus_of(*quota, *period);
}

std::vector<CgroupDir> cpu_cgroup_dirs(std::string_view proc_cgroup, std::string_view mountinfo) {
  std::vector<CgroupDir> out;
  add_dirs(proc_cgroup, mountinfo, false, &out);
  add_dirs(proc_cgroup, mountinfo, true, &out);
  return out;
}

std::optional<int> cgroup_cpu_limit(std::string_view proc_cgroup, std::string_view mountinfo,
                                    const ReadFileFn& read) {
  std::optional<int> best;
  for (const CgroupDir& d : cpu_cgroup_dirs(proc_cgroup, mountinfo)) {
    std::optional<int> limit;
    if (d.v2) {
      if (auto text = read(d.path + "/cpu.max")) limit = cpu_max_limit(*text);
    } else {
      auto quota = read(d.path + "/cpu.cfs_quota_us");
      auto period = read(d.path + "/cpu.cfs_period_us");
      if (quota && period) limit = cfs_quota_limit(*quota, *period);
    }
    if (limit && (!best || *limit < *best)) best = limit;
  }
  return best;
}

int usable_cpus_from(int affinity_cpus, std::optional<int> quota_cpus) {
  int n = affinity_cpus;
  if (quota_cpus && (n < 1 || *quota_cpus < n)) n = *quota_cpus;
  return std::max(n, 1);
}

int affinity_cpus() {
  // A set sized for the machine; grown when the kernel's mask is larger (EINVAL).
  for (int size = 1024; size <= (1 << 16); size *= 4) {
    cpu_set_t* set = CPU_ALLOC(size);
    if (set == nullptr) return 0;
    std::size_t bytes = CPU_ALLOC_SIZE(size);
    int count = ::sched_getaffinity(0, bytes, set) == 0 ? CPU_COUNT_S(bytes, set) : -1;
    CPU_FREE(set);
    if (count >= 0) return count;
    if (errno != EINVAL) return 0;
  }
  return 0;
}

int usable_cpus() {
  auto read = [](const std::string& path) -> std::optional<std::string> {
    std::ifstream in(path);
    if (!in) return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return std::nullopt;
    return text.str();
  };
  int affinity = affinity_cpus();
  if (affinity < 1) affinity = static_cast<int>(std::thread::hardware_concurrency());
  auto cgroup = read("/proc/self/cgroup");
  auto mountinfo = read("/proc/self/mountinfo");
  std::optional<int> quota;
  if (cgroup && mountinfo) quota = cgroup_cpu_limit(*cgroup, *mountinfo, read);
  return usable_cpus_from(affinity, quota);
}

}  // namespace herd
