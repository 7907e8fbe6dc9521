#include "metrics/proc_stats.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace herd::manager {
namespace {

// Reads a small /proc file in one read(2); returns the length or -1.
ssize_t read_small(const char* path, char* buf, std::size_t size) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = ::read(fd, buf, size - 1);
  ::close(fd);
  if (n >= 0) buf[n] = '\0';
  return n;
}

}  // namespace

std::optional<ProcSample> sample_process(pid_t pid) {
  char path[64];
  char buf[1024];
  std::snprintf(path, sizeof(path), "/proc/%d/stat", static_cast<int>(pid));
  if (read_small(path, buf, sizeof(buf)) <= 0) return std::nullopt;
  return parse_proc_stat(buf);
}

std::optional<ProcSample> parse_proc_stat(char* buf) {
  // The command name (field 2) may hold spaces and parentheses: fields restart after the last
  // ')'. From there: state(3) ppid(4) pgrp(5) ... utime(14) stime(15) cutime(16) cstime(17)
  // ... rss(24).
  char* p = std::strrchr(buf, ')');
  if (p == nullptr) return std::nullopt;
  ++p;
  unsigned long long fields[22] = {};
  int field = 3;
  char* save = nullptr;
  for (char* tok = strtok_r(p, " ", &save); tok != nullptr && field <= 24;
       tok = strtok_r(nullptr, " ", &save), ++field) {
    if (field >= 4) fields[field - 3] = std::strtoull(tok, nullptr, 10);
  }
  if (field <= 24) return std::nullopt;
  static const long ticks = ::sysconf(_SC_CLK_TCK);
  static const long page = ::sysconf(_SC_PAGESIZE);
  ProcSample s;
  s.ppid = static_cast<pid_t>(fields[4 - 3]);
  s.pgid = static_cast<pid_t>(fields[5 - 3]);
  s.cpu_ms = (fields[14 - 3] + fields[15 - 3]) * 1000 / static_cast<unsigned long long>(ticks);
  s.children_cpu_ms =
      (fields[16 - 3] + fields[17 - 3]) * 1000 / static_cast<unsigned long long>(ticks);
  s.rss_bytes = fields[24 - 3] * static_cast<unsigned long long>(page);
  return s;
}

double CpuMeter::update(std::uint64_t cpu_ms, std::uint64_t now_ms) {
  if (last_at_ != 0 && now_ms > last_at_) {
    std::uint64_t used = cpu_ms >= last_cpu_ ? cpu_ms - last_cpu_ : 0;
    percent_ = 100.0 * static_cast<double>(used) / static_cast<double>(now_ms - last_at_);
  }
  last_cpu_ = cpu_ms;
  last_at_ = now_ms;
  return percent_;
}

}  // namespace herd::manager
