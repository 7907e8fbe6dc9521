// Raw lines over the control socket, for tests that send what the CLI never would.
#pragma once

#include <string>

#include "e2e/process.h"

namespace herd::e2e {

// Connects to `socket`, sends `line` (a '\n' is added), and returns the first reply line, or
// "<eof>" / "<timed out>" appended to what was read, or "errno ..." when it cannot connect.
std::string raw_request(const std::string& socket, const std::string& line, Ms timeout);

}  // namespace herd::e2e
