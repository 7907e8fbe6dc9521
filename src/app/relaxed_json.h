// Relaxed JSON: the part of JavaScript's literal syntax that PM2 accepts in a `.json` ecosystem
// file, rewritten as strict JSON for the JSON reader.
//
// PM2 7 does not JSON.parse a `.json` ecosystem file: lib/Common.js parseConfig evaluates
// "(" + text + ")" with vm.runInThisContext, so any JavaScript expression passes. herd does not
// run a .json file (a .config.js file runs through node); it accepts the literal forms people
// write in them:
//   - comments: // to the end of the line, and /* ... */;
//   - a comma after the last element of an object or array;
//   - unquoted keys (identifiers: `name: "api"`) and numeric keys (`1: "x"` is the key "1");
//   - strings in single quotes, and `backquotes` without ${...}, with JavaScript's escapes
//     (\', \xHH, \u{1F600}, \v, \0, a backslash before a newline);
//   - numbers as JavaScript writes them: 0x1F, 0o17, 0b11, legacy octal 017, .5, 5., +1, 1_000;
//   - `undefined`, which becomes null (herd's "not set", as it is for PM2).
// What JavaScript itself rejects is rejected here too, with the place and what was expected; a
// valid expression that is not a literal (`process.env.PORT`, `NaN`, a function call) is refused
// by name, since its value is only known by running it.
//
// Pure functions, callable from any thread.
#pragma once

#include <cstddef>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

namespace herd::manager::detail {

struct RelaxedJson {
  std::string json;  // strict JSON (RFC 8259), without comments
  // origin[i]: the offset in the input of the text that became json[i]; one more entry, for the
  // end of the text. Non-decreasing, so an offset in `json` maps back to a line of the input.
  std::vector<std::size_t> origin;
};

struct RelaxedJsonError {
  std::size_t offset = 0;  // where in the input it went wrong
  std::string reason;      // "expected ... , got ..."
};

// Rewrites `text` as strict JSON. The structure (braces, colons, commas between elements) is left
// for the JSON parser to check; only the tokens are rewritten here.
std::expected<RelaxedJson, RelaxedJsonError> relax_json(std::string_view text);

}  // namespace herd::manager::detail
