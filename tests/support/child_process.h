// Multi-process tests re-run the test binary itself in a helper role (libuv's run-tests.c way):
// the child is started with HERD_TEST_ROLE=<role> and the test binary's main() hands it to the
// registered role function instead of running the tests.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "support/child.h"

namespace herd::test {

// Registers a role; use at namespace scope: `static bool r = register_role("name", fn);`.
// The role function's return value is the child's exit code.
bool register_role(const std::string& name, std::function<int(int argc, char** argv)> fn);
// Called by main(): runs the role named by HERD_TEST_ROLE, if any, and returns true with its
// exit code in `exit_code`.
bool run_role_if_requested(int argc, char** argv, int* exit_code);

struct ChildResult {
  bool exited = false;  // false: timed out (and was killed) or died by a signal
  int exit_code = -1;
  int term_signal = 0;
  bool timed_out = false;
  std::string output;  // what the child wrote to stdout
};

// How to start this test binary as `role` with `args` (see child.h): this process's environment
// with HERD_TEST_ROLE=<role>, stdout and stderr captured.
ChildSpec self_spec(const std::string& role, const std::vector<std::string>& args = {});

// Runs this test binary as `role` with `args`, capturing stdout (stderr is the test's), and waits
// at most `timeout` (then SIGKILLs it). `keep_fds` are passed to the child at the same numbers
// (FD_CLOEXEC cleared in the child only).
ChildResult run_self(const std::string& role, const std::vector<std::string>& args = {},
                     std::chrono::milliseconds timeout = std::chrono::seconds(20),
                     const std::vector<int>& keep_fds = {});

// The path of the running executable.
std::string self_exe();

}  // namespace herd::test
