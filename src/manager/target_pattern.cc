#include "manager/target_pattern.h"

#include <fmt/format.h>

#include <string>

namespace herd::manager {
namespace {

std::string shown(std::string_view target) {
  if (target.size() <= 60) return std::string(target);
  return fmt::format("{}... ({} bytes)", target.substr(0, 50), target.size());
}

}  // namespace

bool is_target_regex(std::string_view target) {
  return target.size() >= 2 && target.front() == '/' && target.back() == '/';
}

Result<std::regex> compile_target_regex(std::string_view target) {
  std::string_view pattern = target.substr(1, target.size() - 2);
  if (pattern.size() > kMaxTargetPatternLength) {
    return fail(EINVAL, fmt::format("{} is not a valid regex: longer than {} bytes", shown(target),
                                    kMaxTargetPatternLength));
  }
  try {
    // __polynomial: libstdc++'s breadth-first executor, and a regex_error for back-references,
    // which only a backtracking executor can match.
    return std::regex(pattern.begin(), pattern.end(),
                      std::regex::ECMAScript | std::regex_constants::__polynomial);
  } catch (const std::regex_error& e) {
    std::string why = e.code() == std::regex_constants::error_complexity
                          ? "back-references (\\1...) are not supported"
                          : e.what();
    return fail(EINVAL, fmt::format("{} is not a valid regex: {}", shown(target), why));
  }
}

}  // namespace herd::manager
