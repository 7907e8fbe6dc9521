#include "daemon/cgroup/cgroup_meter.h"

#include <string_view>

#include "daemon/cgroup/cgroup_files.h"

namespace herd::manager {
namespace {

std::optional<std::uint64_t> read_kept_number(KeptFile& f, std::string_view key = {}) {
  if (f.path().empty()) return std::nullopt;
  char buf[512];  // cpu.stat, the longest kept file, is under 300 bytes
  ssize_t n = f.read(buf, sizeof(buf));
  if (n <= 0) return std::nullopt;
  std::string_view text(buf, static_cast<std::size_t>(n));
  return key.empty() ? cgroup::number_in(text) : cgroup::keyed_in(text, key);
}

}  // namespace

CgroupMeter::CgroupMeter(const CgroupMeterFiles& files)
    : memory_(files.memory_usage),
      cpu_(files.cpu),
      inactive_key_(files.inactive_key),
      cpu_key_(files.cpu_key),
      cpu_in_ns_(files.cpu_in_ns) {}

std::optional<std::uint64_t> CgroupMeter::read_cpu_usec() {
  auto v = read_kept_number(cpu_, cpu_key_);
  if (!v) return std::nullopt;
  return cpu_in_ns_ ? *v / 1000 : *v;
}

void CgroupMeter::read_inactive(std::uint64_t now_ms, std::uint64_t usage) {
  ++stat_reads_;
  const std::string& usage_path = memory_.path();
  std::string stat_path = usage_path.substr(0, usage_path.rfind('/') + 1) + "memory.stat";
  inactive_ = cgroup::read_keyed(stat_path, inactive_key_).value_or(0);
  stat_at_ms_ = now_ms;
  usage_at_stat_ = usage;
  stat_read_ = true;
}

std::optional<CgroupUsage> CgroupMeter::read(std::uint64_t now_ms, std::uint64_t fresh_above) {
  CgroupUsage u;
  bool any = false;
  if (auto used = read_kept_number(memory_)) {
    std::uint64_t moved = *used > usage_at_stat_ ? *used - usage_at_stat_ : usage_at_stat_ - *used;
    bool stale = !stat_read_ || now_ms < stat_at_ms_ || now_ms - stat_at_ms_ >= kStatEveryMs ||
                 moved > kStatMovedBytes;
    if (stale) read_inactive(now_ms, *used);
    u.memory_bytes = *used > inactive_ ? *used - inactive_ : 0;
    if (!stale && fresh_above != 0 && u.memory_bytes > fresh_above) {
      read_inactive(now_ms, *used);
      u.memory_bytes = *used > inactive_ ? *used - inactive_ : 0;
    }
    any = true;
  }
  if (auto usec = read_cpu_usec()) {
    u.cpu_usec = *usec;
    any = true;
  }
  if (!any) return std::nullopt;
  return u;
}

std::optional<CgroupUsage> CgroupBackend::usage(const std::string& name) const {
  CgroupMeter meter(meter_files(name));
  return meter.read(0);
}

}  // namespace herd::manager
