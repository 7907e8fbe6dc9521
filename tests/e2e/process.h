// Process: a child process run by an end-to-end test, with its stdout and stderr captured (the
// test support's Child, started with an exact environment).
#pragma once

#include <string>
#include <vector>

#include "support/child.h"

namespace herd::e2e {

using Ms = std::chrono::milliseconds;

// How a command ended and what it wrote; exit_code is -1 when it died by a signal or was killed
// at the deadline.
using CommandResult = test::RunResult;

// The destructor SIGKILLs and reaps the process if it still runs.
class Process : public test::Child {
 public:
  // fork + exec `argv` with exactly `env` ("KEY=value"). False (with errno) when it failed.
  bool spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env);
};

// Connects to 127.0.0.1:port (blocking): the descriptor, or -errno (ECONNREFUSED when nobody
// listens). The caller closes it.
int connect_tcp(int port);
// Connects to the Unix stream socket `path` (blocking): the descriptor, or -errno.
int connect_unix(const std::string& path);

}  // namespace herd::e2e
