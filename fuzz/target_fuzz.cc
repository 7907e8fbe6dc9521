// target_fuzz: a libFuzzer target for what a verb's targets hold: /regex/ targets
// (manager/target_pattern.h) and app names (manager/app_name.h).
//
// Input: the first line is a target, each further line an app name. The target goes through
// what Supervisor::resolve does with it: is_target_regex, compile_target_regex, and a
// regex_search over the first names that validate_app_name accepts (and a few fixed ones). Each
// name is also checked against the rule app_name.h states, written out again here, and
// make_valid_app_name must turn anything into a valid name (and leave a valid one as it is).
//
// Time and stack are the point of target_pattern.h: a pattern that takes long to compile or to
// match shows up as a libFuzzer timeout (scripts/fuzz runs with -timeout), deep recursion as an
// ASan stack overflow, a pattern that blows up in memory as an out-of-memory report.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "app/app_name.h"
#include "app/target_pattern.h"

namespace {

namespace m = herd::manager;

volatile std::size_t hits_seen = 0;

[[noreturn]] void die(std::string_view what, std::string_view name) {
  std::fprintf(stderr, "target_fuzz: %.*s: \"%.*s\"\n", static_cast<int>(what.size()), what.data(),
               static_cast<int>(name.size()), name.data());
  std::abort();
}

// app_name.h's rule, independently.
bool valid_by_the_rule(std::string_view n) {
  if (n.empty() || n.size() > m::kMaxAppNameLength) return false;
  for (char c : n) {
    auto u = static_cast<unsigned char>(c);
    if (c == '/' || c == '\\' || u < 0x20 || u == 0x7f) return false;
  }
  if (n == "." || n == ".." || n == "all") return false;
  return !std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void check_name(std::string_view name) {
  bool valid = static_cast<bool>(m::validate_app_name(name));
  if (valid != valid_by_the_rule(name)) die("validate_app_name disagrees with the rule", name);
  std::string made = m::make_valid_app_name(name);
  if (!m::validate_app_name(made)) die("make_valid_app_name made an invalid name", name);
  if (valid && made != name) die("make_valid_app_name changed a valid name", name);
}

// Names every regex is searched in besides the input's. Matching time grows with the name's
// length and, under ASan and coverage instrumentation, the worst 256-byte pattern takes seconds
// per 128-byte name (45 ms in a release build; tests/unit/target_pattern_test.cc times those):
// names here are at most kSearchedNameBytes long, so that one input stays well inside
// libFuzzer's -timeout while a blow-up (what target_pattern.h rules out) still shows as one.
constexpr std::size_t kSearchedNameBytes = 32;
constexpr std::size_t kMaxNames = 3;  // of the input's, each costs a search

const std::vector<std::string>& fixed_names() {
  static const std::vector<std::string> names = {"web", "worker-1", "api.v2 x=y",
                                                 std::string(kSearchedNameBytes - 1, 'a') + "!"};
  return names;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 4096) return 0;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> lines;
  for (std::size_t start = 0;;) {
    std::size_t nl = input.find('\n', start);
    lines.push_back(input.substr(start, nl == std::string_view::npos ? nl : nl - start));
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  std::string_view target = lines[0];
  std::vector<std::string_view> names;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    check_name(lines[i]);
    if (m::validate_app_name(lines[i]) && lines[i].size() <= kSearchedNameBytes) {
      names.push_back(lines[i]);
    }
  }
  check_name(target);

  bool regex = m::is_target_regex(target);
  if (regex != (target.size() >= 2 && target.front() == '/' && target.back() == '/')) {
    die("is_target_regex is wrong", target);
  }
  if (!regex) return 0;
  auto re = m::compile_target_regex(target);
  if (!re) {
    if (re.error().context().find("not a valid regex") == std::string::npos) {
      die("a refused regex without the reason", target);
    }
    // The reason comes last (the target, shown first, may hold any text).
    bool too_long = re.error().context().ends_with(
        ": longer than " + std::to_string(m::kMaxTargetPatternLength) + " bytes");
    if (too_long != (target.size() - 2 > m::kMaxTargetPatternLength)) {
      die("the length limit is applied wrongly", target);
    }
    return 0;
  }
  if (target.size() - 2 > m::kMaxTargetPatternLength) die("a long regex was accepted", target);
  std::size_t hits = 0;
  if (names.size() > kMaxNames) names.resize(kMaxNames);
  for (std::string_view n : names) hits += std::regex_search(n.begin(), n.end(), *re);
  for (const std::string& n : fixed_names()) hits += std::regex_search(n, *re);
  hits_seen = hits;  // keeps the searches from being optimised away
  return 0;
}
