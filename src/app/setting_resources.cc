// The rules of the resource settings of the settings table (max_memory, cpu_quota, max_tasks):
// how their values are read from JSON and from `herd start` flags, and how jlist shows them.
// See docs/resources.md for what they do.
#include <fmt/format.h>

#include <cctype>

#include "app/setting_rules.h"

namespace herd::manager::detail {
namespace {

constexpr std::uint64_t kMinMemory = 1024 * 1024;
constexpr std::uint64_t kMaxCpus = 1024;
constexpr std::uint64_t kMaxTasks = 4194304;  // the kernel's pid_max limit

constexpr std::string_view kMemoryForms =
    "a size of at least 1M (\"64M\", \"1G\", bytes), 0 = none";
constexpr std::string_view kCpuForms =
    "a CPU share: a percentage of one CPU (\"50%\", \"150%\") or CPUs (1.5), 0 = none";
constexpr std::string_view kTaskForms = "a number of processes and threads, 0 = none";

// "12.5" -> 12500: a decimal number with at most three digits after the
// point, as thousandths; nullopt for anything else.
std::optional<std::uint64_t> parse_thousandths(std::string_view text) {
  std::uint64_t whole = 0, frac = 0;
  int frac_digits = 0;
  bool seen_digit = false, seen_point = false;
  for (char c : text) {
    if (c == '.' && !seen_point) {
      seen_point = true;
      continue;
    }
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    seen_digit = true;
    if (seen_point) {
      if (++frac_digits > 3) return std::nullopt;
      frac = frac * 10 + static_cast<std::uint64_t>(c - '0');
    } else {
      whole = whole * 10 + static_cast<std::uint64_t>(c - '0');
      if (whole > 1000000) return std::nullopt;
    }
  }
  if (!seen_digit) return std::nullopt;
  while (frac_digits++ < 3) frac *= 10;
  return whole * 1000 + frac;
}

// The quota in thousandths of a CPU, or nullopt.
std::optional<std::uint64_t> parse_cpu_quota(const json& v) {
  if (v.is_number()) {
    if (v.get<double>() < 0) return std::nullopt;
    return parse_thousandths(v.is_number_float() ? fmt::format("{:.3f}", v.get<double>())
                                                 : v.dump());
  }
  if (!v.is_string()) return std::nullopt;
  std::string text = v.get<std::string>();
  while (!text.empty() && text.back() == ' ') text.pop_back();
  if (text.ends_with('%')) {
    // Percent of one CPU, to a tenth of a percent: "12.5%" = 125 thousandths.
    auto pct = parse_thousandths(std::string_view(text).substr(0, text.size() - 1));
    if (!pct || *pct % 100 != 0) return std::nullopt;
    return *pct / 100;
  }
  return parse_thousandths(text);
}

}  // namespace

Status set_max_memory(AppSpec& s, const json& v) {
  auto bytes = as_size(v);
  if (!bytes || (*bytes != 0 && *bytes < kMinMemory)) return expected(kMemoryForms, v);
  s.max_memory = *bytes;
  return {};
}

Status flag_max_memory(AppSpec& cli, const FlagInput& in) {
  if (!set_max_memory(cli, json(in.value))) {
    return fail(EINVAL, fmt::format("{} takes {}, not '{}'", in.flag, kMemoryForms, in.value));
  }
  return {};
}

Status set_cpu_quota(AppSpec& s, const json& v) {
  auto milli = parse_cpu_quota(v);
  // The kernel's smallest quota is 1 ms per 100 ms period: 1 %.
  if (!milli || (*milli != 0 && (*milli < 10 || *milli > kMaxCpus * 1000))) {
    return expected(kCpuForms, v);
  }
  s.cpu_quota = *milli;
  return {};
}

json get_cpu_quota(const AppSpec& s) {
  if (s.cpu_quota == 0) return 0;
  if (s.cpu_quota % 10 == 0) return fmt::format("{}%", s.cpu_quota / 10);
  return fmt::format("{}.{}%", s.cpu_quota / 10, s.cpu_quota % 10);
}

json jlist_cpu_quota(const AppSpec& s) { return s.cpu_quota == 0 ? json() : get_cpu_quota(s); }

Status flag_cpu_quota(AppSpec& cli, const FlagInput& in) {
  if (!set_cpu_quota(cli, json(in.value))) {
    return fail(EINVAL, fmt::format("{} takes {}, not '{}'", in.flag, kCpuForms, in.value));
  }
  return {};
}

Status set_max_tasks(AppSpec& s, const json& v) {
  auto n = as_count(v, kMaxTasks);
  if (!n) return expected(kTaskForms, v);
  s.max_tasks = *n;
  return {};
}

Status flag_max_tasks(AppSpec& cli, const FlagInput& in) {
  if (!set_max_tasks(cli, json(in.value))) {
    return fail(EINVAL, fmt::format("{} takes {}, not '{}'", in.flag, kTaskForms, in.value));
  }
  return {};
}

}  // namespace herd::manager::detail
