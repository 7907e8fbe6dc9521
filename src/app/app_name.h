// What an app name may be: one rule for every way a name reaches herd (the CLI's --name, an
// ecosystem file, the control protocol, dump.json at resurrect).
//
// PM2's practice is the baseline (any text), minus what would make a name unsafe or ambiguous:
// it becomes part of file names (logs/<name>-out.log, pids/<name>-0.pid) and it is a target
// beside ids, `all` and /regex/. A valid name:
//   - is 1 to 128 bytes long;
//   - has no '/', '\\', NUL or other control character (bytes below 0x20, and 0x7f);
//   - is not "." or "..";
//   - is not all digits (that is an id) and not "all" (every app).
// (With no '/', it can never look like a /regex/ either.) Spaces, dots, dashes and UTF-8 are fine.
//
// Pure functions; any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "herd/base/error.h"

namespace herd::manager {

inline constexpr std::size_t kMaxAppNameLength = 128;

// EINVAL with a sentence that shows the name (control characters escaped) and the rule it breaks.
Status validate_app_name(std::string_view name);

// `name` made valid, for a name herd derives itself (from a script's file name): control
// characters and '\\' become '_', it is cut to kMaxAppNameLength, "" / "." / ".." become "app",
// and a name of digits only or "all" gets the prefix "app-" ("5.js" -> "app-5").
std::string make_valid_app_name(std::string_view name);

}  // namespace herd::manager
