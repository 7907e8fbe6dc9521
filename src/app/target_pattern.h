// A /regex/ target (`herd stop /^worker-/`), compiled so that matching it can never hold up the
// daemon: the daemon has one thread, and every CLI waits while it matches.
//
// The rule (docs/control-protocol.md): ECMAScript syntax as in JavaScript, at most 256 bytes
// between the slashes, also once its counted repetitions are written out (`a{3}` counts as
// `aaa`), no back-references (\1...). Such a pattern is matched by libstdc++'s breadth-first
// executor (std::regex_constants::__polynomial), whose time grows polynomially with the name's
// length (at most 128 bytes) and the automaton's size, never exponentially as backtracking does
// on /(a+)+$/; counted repetitions are copied into the automaton, so without the second limit
// /(.*.*.*.*.*.*.*.*.*.*){3000}=/ took 15 s per 128-byte name. The length limits also bound
// the compiler's recursion (it recurses per term).
//
// Pure; any thread.
#pragma once

#include <cstddef>
#include <regex>
#include <string_view>

#include "herd/base/error.h"

namespace herd::manager {

inline constexpr std::size_t kMaxTargetPatternLength = 256;

// True for "/.../" (at least the two slashes): a target that is a regex.
bool is_target_regex(std::string_view target);

// Compiles the pattern between the slashes of `target` ("/^web-/"). EINVAL with a sentence that
// names the target (cut short when long) and why it is refused.
Result<std::regex> compile_target_regex(std::string_view target);

}  // namespace herd::manager
