#include "serve/byte_range.h"

#include <fmt/format.h>

#include <limits>
#include <optional>

#include "base/ascii.h"

namespace herd::serve {
namespace {

constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Decimal digits, saturating at the largest value: a position past any file stays past it.
std::optional<std::uint64_t> number(std::string_view s) {
  if (!detail::all_digits(s)) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    auto d = static_cast<std::uint64_t>(c - '0');
    v = v > (kMax - d) / 10 ? kMax : v * 10 + d;
  }
  return v;
}

// The one range-spec of the set, or "" when there are none or several.
std::string_view single_spec(std::string_view set) {
  std::string_view found;
  int count = 0;
  while (true) {
    std::size_t comma = set.find(',');
    std::string_view element = trim(set.substr(0, comma));
    if (!element.empty()) {
      found = element;
      ++count;
    }
    if (comma == std::string_view::npos) break;
    set.remove_prefix(comma + 1);
  }
  return count == 1 ? found : std::string_view();
}

}  // namespace

RangeAnswer parse_range(std::string_view header, std::uint64_t size) {
  constexpr std::string_view kUnit = "bytes=";
  header = trim(header);
  if (header.size() < kUnit.size() || !detail::iequals(header.substr(0, kUnit.size()), kUnit)) {
    return {};
  }
  std::string_view spec = single_spec(header.substr(kUnit.size()));
  std::size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return {};
  std::string_view first_text = spec.substr(0, dash);
  std::string_view last_text = spec.substr(dash + 1);
  const RangeAnswer unsatisfiable{RangeKind::kUnsatisfiable, 0, 0};
  if (first_text.empty()) {  // "-n": the last n bytes
    auto n = number(last_text);
    if (!n) return {};
    if (*n == 0 || size == 0) return unsatisfiable;
    std::uint64_t length = *n < size ? *n : size;
    return {RangeKind::kPartial, size - length, length};
  }
  auto first = number(first_text);
  if (!first) return {};
  std::uint64_t last = kMax;
  if (!last_text.empty()) {
    auto l = number(last_text);
    if (!l || *l < *first) return {};
    last = *l;
  }
  if (*first >= size) return unsatisfiable;
  if (last >= size) last = size - 1;
  return {RangeKind::kPartial, *first, last - *first + 1};
}

std::string content_range(const RangeAnswer& answer, std::uint64_t size) {
  switch (answer.kind) {
    case RangeKind::kPartial:
      return fmt::format("bytes {}-{}/{}", answer.first, answer.first + answer.length - 1, size);
    case RangeKind::kUnsatisfiable:
      return fmt::format("bytes */{}", size);
    case RangeKind::kWhole:
      break;
  }
  return {};
}

}  // namespace herd::serve
