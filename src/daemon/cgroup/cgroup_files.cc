#include "daemon/cgroup/cgroup_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "herd/base/fd.h"

namespace herd::manager::cgroup {

std::optional<std::string> read_text(const std::string& path) {
  auto fd = Fd::open(path.c_str(), O_RDONLY);
  if (!fd) return std::nullopt;
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd->get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    // cgroup files are small; a file that keeps growing is not one of them.
    if (out.size() > (1u << 20)) return std::nullopt;
  }
  return out;
}

std::optional<std::uint64_t> number_in(std::string_view text) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end == text.data()) return std::nullopt;
  return value;
}

std::optional<std::uint64_t> keyed_in(std::string_view text, std::string_view key) {
  while (!text.empty()) {
    std::size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    if (line.size() > key.size() && line.starts_with(key) && line[key.size()] == ' ') {
      return number_in(line.substr(key.size() + 1));
    }
  }
  return std::nullopt;
}

std::optional<std::uint64_t> read_number(const std::string& path) {
  auto text = read_text(path);
  if (!text) return std::nullopt;
  return number_in(*text);
}

std::optional<std::uint64_t> read_keyed(const std::string& path, std::string_view key) {
  auto text = read_text(path);
  if (!text) return std::nullopt;
  return keyed_in(*text, key);
}

Status write_text(const std::string& path, std::string_view text) {
  // O_CREAT is a no-op on cgroupfs (its files exist, and no others may be made there) and lets
  // a fake tree in a test take the write.
  auto fd = Fd::open(path.c_str(), O_WRONLY | O_TRUNC | O_CREAT, 0644);
  if (!fd) return fail(fd.error().code(), fmt::format("writing '{}' to {}", text, path));
  ssize_t n;
  do {
    n = ::write(fd->get(), text.data(), text.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return fail_errno(fmt::format("writing '{}' to {}", text, path));
  return {};
}

std::vector<pid_t> read_pids(const std::string& path) {
  std::vector<pid_t> pids;
  auto text = read_text(path);
  if (!text) return pids;
  std::string_view rest = *text;
  while (!rest.empty()) {
    std::size_t eol = rest.find('\n');
    if (auto n = number_in(rest.substr(0, eol)); n && *n > 0) {
      pids.push_back(static_cast<pid_t>(*n));
    }
    if (eol == std::string_view::npos) break;
    rest = rest.substr(eol + 1);
  }
  return pids;
}

Status make_dir(const std::string& path, bool exist_ok) {
  if (::mkdir(path.c_str(), 0755) == 0) return {};
  if (errno == EEXIST && exist_ok) return {};
  return fail_errno(fmt::format("creating the cgroup {}", path));
}

std::vector<std::string> subdirs(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    if (e->d_type != DT_DIR || std::strcmp(e->d_name, ".") == 0 ||
        std::strcmp(e->d_name, "..") == 0) {
      continue;
    }
    out.emplace_back(e->d_name);
  }
  ::closedir(d);
  return out;
}

Status require_controllers(const CgroupLimits& limits,
                           const std::function<bool(const char* controller)>& has,
                           std::string_view version, std::string_view why_missing) {
  struct Need {
    bool set;
    const char* controller;
    const char* setting;
  } needs[] = {{limits.memory_max != 0, "memory", "max_memory"},
               {limits.cpu_milli != 0, "cpu", "cpu_quota"},
               {limits.max_tasks != 0, "pids", "max_tasks"}};
  for (const Need& n : needs) {
    if (n.set && !has(n.controller)) {
      return fail(ENOTSUP, fmt::format("{} needs the cgroup {} {} controller, {}", n.setting,
                                       version, n.controller, why_missing));
    }
  }
  return {};
}

}  // namespace herd::manager::cgroup
