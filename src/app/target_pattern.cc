#include "app/target_pattern.h"

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <vector>

namespace herd::manager {
namespace {

std::string shown(std::string_view target) {
  if (target.size() <= 60) return std::string(target);
  return fmt::format("{}... ({} bytes)", target.substr(0, 50), target.size());
}

// The pattern's size once its counted repetitions are written out (`a{3}` weighs what `aaa`
// does, `(ab){2,5}` what five `(ab)` do): libstdc++ copies the repeated atom into its automaton
// that many times, and the breadth-first executor's time grows with the automaton's size (about
// its square per byte of the name). Saturates at `limit + 1`; kBackReference for a pattern
// with a back-reference (\1...) outside a class.
constexpr std::size_t kBackReference = ~std::size_t{0};

// The end of the class `[...]` that begins at p[i]: a class is one atom, however long, up to the
// first ']' that is not its first member.
std::size_t class_end(std::string_view p, std::size_t i) {
  ++i;
  if (i < p.size() && p[i] == '^') ++i;
  if (i < p.size() && p[i] == ']') ++i;
  while (i < p.size() && p[i] != ']') i += p[i] == '\\' ? 2 : 1;
  return std::min(p.size(), i + 1);
}

std::size_t expanded_size(std::string_view p, std::size_t limit) {
  std::size_t total = 0;
  std::size_t last = 0;             // the weight of the atom a quantifier would apply to
  std::vector<std::size_t> groups;  // `total` when each open group began
  auto cap = [limit](std::size_t v) { return v > limit ? limit + 1 : v; };
  std::size_t i = 0;
  while (i < p.size()) {
    char c = p[i];
    std::size_t start = i;
    if (c == '\\') {
      // A back-reference: refused by the caller before libstdc++ parses its number.
      if (i + 1 < p.size() && p[i + 1] >= '1' && p[i + 1] <= '9') return kBackReference;
      i = std::min(p.size(), i + 2);
      last = i - start;
      total = cap(total + last);
    } else if (c == '[') {
      i = class_end(p, i);
      last = i - start;
      total = cap(total + last);
    } else if (c == '(') {
      groups.push_back(total);
      total = cap(total + 1);
      ++i;
      last = 0;
    } else if (c == ')') {
      ++i;
      std::size_t begun = groups.empty() ? 0 : groups.back();
      if (!groups.empty()) groups.pop_back();
      total = cap(total + 1);
      last = total - begun;
    } else if (c == '{') {
      // {n}, {n,} or {n,m}: the atom before it is there max(n, m) times (n + 1 for {n,}).
      std::size_t j = i + 1;
      std::size_t n = 0, m = 0;
      bool digits = false, comma = false, open = false;
      while (j < p.size() && p[j] >= '0' && p[j] <= '9') {
        n = cap(n * 10 + static_cast<std::size_t>(p[j] - '0'));
        digits = true;
        ++j;
      }
      if (j < p.size() && p[j] == ',') {
        comma = true;
        ++j;
        open = true;
        while (j < p.size() && p[j] >= '0' && p[j] <= '9') {
          m = cap(m * 10 + static_cast<std::size_t>(p[j] - '0'));
          open = false;
          ++j;
        }
      }
      // A count that alone is over the limit never fits, whatever it repeats, closed or not (and
      // libstdc++ would read it into a long that can overflow before it reports anything).
      if (n > limit || m > limit) return limit + 1;
      if (digits && j < p.size() && p[j] == '}') {
        std::size_t times = !comma ? n : open ? n + 1 : std::max(n, m);
        if (times == 0) times = 1;
        // The atom is counted once already.
        std::size_t copies = cap(last * std::min(times, limit + 1));
        total = cap(total + (copies - last));
        last = copies;
        i = j + 1;
      } else {
        ++i;  // a literal brace, or a syntax error the compiler reports
        last = 1;
        total = cap(total + 1);
      }
    } else {
      ++i;
      // Quantifiers and anchors add no copy; anything else is a one-byte atom.
      bool op = c == '*' || c == '+' || c == '?' || c == '|' || c == '^' || c == '$';
      if (!op) last = 1;
      total = cap(total + 1);
    }
  }
  return total;
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
  std::size_t expanded = expanded_size(pattern, kMaxTargetPatternLength);
  if (expanded == kBackReference) {
    return fail(EINVAL, fmt::format("{} is not a valid regex: back-references (\\1...) are not "
                                    "supported",
                                    shown(target)));
  }
  if (expanded > kMaxTargetPatternLength) {
    return fail(EINVAL, fmt::format("{} is not a valid regex: its counted repetitions ({{n,m}}) "
                                    "make it longer than {} bytes once written out",
                                    shown(target), kMaxTargetPatternLength));
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
