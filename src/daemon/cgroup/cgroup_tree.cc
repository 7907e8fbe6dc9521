#include "daemon/cgroup/cgroup_tree.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "daemon/cgroup/cgroup_files.h"
#include "daemon/cgroup/cgroup_v1.h"
#include "daemon/cgroup/cgroup_v2.h"

namespace herd::manager {
namespace {

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    std::size_t at = text.find(sep);
    out.push_back(text.substr(0, at));
    if (at == std::string_view::npos) break;
    text = text.substr(at + 1);
  }
  return out;
}

// The directory of cgroup `path` in a hierarchy mounted at `mount` from its `root`; "" when the
// path is not under what the mount shows.
std::string dir_of(std::string_view mount, std::string_view root, std::string_view path) {
  if (root != "/") {
    if (!path.starts_with(root)) return "";
    path.remove_prefix(root.size());
  }
  std::string dir(mount);
  if (!path.empty() && path != "/") dir += std::string(path);
  return dir;
}

constexpr const char* kV1Controllers[] = {"memory", "cpu", "cpuacct", "pids"};

constexpr std::string_view kAdvice =
    "cgroups need a daemon run by root or a delegated subtree (systemd Delegate=yes)";

}  // namespace

CgroupLayout find_cgroup_layout(std::string_view mountinfo, std::string_view self_cgroup) {
  // /proc/self/cgroup: "<id>:<controllers>:<path>"; "0::<path>" is v2's.
  std::string v2_path;
  std::map<std::string, std::string, std::less<>> v1_paths;
  for (std::string_view line : split(self_cgroup, '\n')) {
    auto f = split(line, ':');
    if (f.size() < 3) continue;
    std::string path(line.substr(f[0].size() + f[1].size() + 2));
    if (f[0] == "0" && f[1].empty()) {
      v2_path = path;
      continue;
    }
    for (std::string_view c : split(f[1], ',')) v1_paths[std::string(c)] = path;
  }
  CgroupLayout layout;
  // mountinfo: "id parent maj:min root mountpoint opts [optional...] - fstype source superopts".
  for (std::string_view line : split(mountinfo, '\n')) {
    auto f = split(line, ' ');
    std::size_t dash = 0;
    while (dash < f.size() && f[dash] != "-") ++dash;
    if (dash < 5 || dash + 1 >= f.size()) continue;
    std::string_view type = f[dash + 1];
    std::string_view root = f[3];
    std::string_view mount = f[4];
    if (type == "cgroup2") {
      if (!v2_path.empty() && layout.v2_dir.empty()) {
        layout.v2_dir = dir_of(mount, root, v2_path);
      }
      continue;
    }
    if (type != "cgroup" || dash + 3 >= f.size()) continue;
    for (std::string_view opt : split(f[dash + 3], ',')) {
      for (const char* c : kV1Controllers) {
        if (opt != c || layout.v1.contains(c)) continue;
        auto path = v1_paths.find(opt);
        if (path == v1_paths.end()) continue;
        if (std::string dir = dir_of(mount, root, path->second); !dir.empty()) {
          layout.v1[c] = dir;
        }
      }
    }
  }
  return layout;
}

// The directory's identity goes into the name with its path: a home removed or moved away while
// its daemon stops its apps, and a new home made at the same path, get a group each, so that
// neither daemon's start (reclaim_stale) or stop (remove_all) takes the other's apps.
std::string cgroup_group_name(const std::string& home_dir) {
  std::uint64_t h = 14695981039346656037ull;  // FNV-1a
  auto mix = [&h](const void* data, std::size_t size) {
    for (std::size_t i = 0; i < size; ++i) {
      h ^= static_cast<const unsigned char*>(data)[i];
      h *= 1099511628211ull;
    }
  };
  mix(home_dir.data(), home_dir.size());
  struct stat st;
  if (::stat(home_dir.c_str(), &st) == 0) {
    std::uint64_t id[2] = {static_cast<std::uint64_t>(st.st_dev),
                           static_cast<std::uint64_t>(st.st_ino)};
    mix(id, sizeof id);
  }
  return fmt::format("herd-{:012x}", h & 0xffffffffffffull);
}

CgroupTree::CgroupTree(std::unique_ptr<CgroupBackend> backend) : backend_(std::move(backend)) {}

CgroupTree::CgroupTree(std::string reason) : reason_(std::move(reason)) {}

std::unique_ptr<CgroupTree> CgroupTree::detect(const std::string& home_dir) {
  if (const char* v = std::getenv("HERD_CGROUPS"); v != nullptr && std::string_view(v) == "off") {
    return std::make_unique<CgroupTree>("turned off by HERD_CGROUPS=off");
  }
  auto mountinfo = cgroup::read_text("/proc/self/mountinfo");
  auto self = cgroup::read_text("/proc/self/cgroup");
  if (!mountinfo || !self) {
    return std::make_unique<CgroupTree>("cannot read /proc/self/mountinfo or /proc/self/cgroup");
  }
  CgroupLayout layout = find_cgroup_layout(*mountinfo, *self);
  std::string name = cgroup_group_name(home_dir);
  std::unique_ptr<CgroupBackend> backend;
  if (!layout.v2_dir.empty()) {
    // v2 is used when it offers a controller herd uses; an empty unified hierarchy beside v1's
    // (a "hybrid" machine) is not.
    std::string controllers = cgroup::read_text(layout.v2_dir + "/cgroup.controllers").value_or("");
    for (const char* c : {"memory", "cpu", "pids"}) {
      if (controllers.find(c) != std::string::npos) {
        backend = std::make_unique<CgroupV2>(layout.v2_dir, name);
        break;
      }
    }
  }
  if (!backend) {
    std::map<std::string, std::string> dirs;
    for (const auto& [controller, dir] : layout.v1) dirs[controller] = dir + "/" + name;
    if (!dirs.empty()) backend = std::make_unique<CgroupV1>(std::move(dirs));
  }
  if (!backend) {
    return std::make_unique<CgroupTree>(
        "no cgroup hierarchy with the memory, cpu or pids controller is mounted");
  }
  if (Status s = backend->init(); !s) {
    return std::make_unique<CgroupTree>(fmt::format("{}; {}", s.error().message(), kAdvice));
  }
  return std::make_unique<CgroupTree>(std::move(backend));
}

nlohmann::json CgroupTree::to_json() const {
  if (!enabled()) return {{"enabled", false}, {"reason", reason_}};
  return {{"enabled", true},
          {"version", backend_->version()},
          {"controllers", backend_->controllers()},
          {"root", backend_->roots()}};
}

std::string CgroupTree::summary() const {
  if (!enabled()) return fmt::format("cgroups off: {}", reason_);
  std::string controllers;
  for (const auto& c : backend_->controllers())
    controllers += (controllers.empty() ? "" : ", ") + c;
  std::string roots;
  for (const auto& r : backend_->roots()) roots += (roots.empty() ? "" : ", ") + r;
  return fmt::format("cgroups {} ({}) in {}", backend_->version(), controllers, roots);
}

Result<std::string> CgroupTree::create(const std::string& base, const CgroupLimits& limits) {
  // A name a previous daemon of this home still uses (after `herd update`) is skipped.
  for (int attempt = 0; attempt < 1000; ++attempt) {
    std::string name = fmt::format("{}-{}", base, serial_++);
    Status s = backend_->create(name, limits);
    if (s) return name;
    if (s.error().code() != EEXIST) return std::unexpected(s.error());
  }
  return fail(EEXIST, fmt::format("no free cgroup name for {}", base));
}

void CgroupTree::release(const std::string& name) {
  if (!enabled() || name.empty()) return;
  backend_->kill_all(name);
  if (!backend_->remove(name)) pending_.insert(name);
}

void CgroupTree::sweep() {
  for (auto it = pending_.begin(); it != pending_.end();) {
    backend_->kill_all(*it);
    it = backend_->remove(*it) ? pending_.erase(it) : std::next(it);
  }
}

void CgroupTree::reclaim_stale() {
  if (!enabled()) return;
  for (const std::string& name : backend_->groups()) {
    // v2's leaf of the daemon itself is not an instance's.
    if (name.ends_with("-daemon")) continue;
    release(name);
  }
}

void CgroupTree::remove_all(int wait_ms, const std::function<void()>& reap) {
  if (!enabled()) return;
  reclaim_stale();
  auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  while (!pending_.empty() && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (reap) reap();
    sweep();
  }
  (void)backend_->remove_root();
}

}  // namespace herd::manager
