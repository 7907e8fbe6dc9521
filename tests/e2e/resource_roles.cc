// The test binary's roles for the resource tests (resources_test.cc): programs that use memory,
// CPU and processes the way the limits and the whole-tree measurement must handle. They report
// through the file named by HERD_E2E_FILE.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "e2e/herd_fixture.h"
#include "support/child_process.h"

namespace herd::e2e {
namespace {

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

// `mb` megabytes, every page written so that they are resident (and charged to the cgroup).
char* hold(std::size_t mb) {
  std::size_t size = mb << 20;
  char* p = static_cast<char*>(std::malloc(size));
  if (p != nullptr) std::memset(p, 0x5a, size);
  // The compiler must not drop the writes to memory nobody reads.
  asm volatile("" : : "r"(p) : "memory");
  return p;
}

// Allocates 200 MB, 10 MB at a time (so that a 64 MB limit is met on the way), then waits.
bool oom_hog = test::register_role("oom_hog", [](int, char**) {
  std::vector<char*> blocks;
  for (int i = 0; i < 20; ++i) blocks.push_back(hold(10));
  write_file(env_or_empty(kFileVar), "holding 200 MB\n");
  for (;;) ::pause();
  return 0;
});

// Spins on the CPU until stopped.
bool busy_loop = test::register_role("busy_loop", [](int, char**) {
  volatile unsigned long n = 0;
  for (;;) n = n + 1;
  return 0;
});

// Forks 3 children that each hold 50 MB (none of them, nor the parent, holds 100 MB alone);
// writes "holding" once all do, then waits. The children die with the parent's group.
bool forking_holder = test::register_role("forking_holder", [](int, char**) {
  int done[2];
  if (::pipe(done) < 0) return 2;
  for (int i = 0; i < 3; ++i) {
    pid_t pid = ::fork();
    if (pid < 0) return 3;
    if (pid == 0) {
      if (hold(50) == nullptr) ::_exit(4);
      [[maybe_unused]] ssize_t n = ::write(done[1], "x", 1);
      for (;;) ::pause();
    }
  }
  char c;
  for (int i = 0; i < 3; ++i) {
    if (::read(done[0], &c, 1) != 1) return 5;
  }
  write_file(env_or_empty(kFileVar), "holding\n");
  for (;;) ::pause();
  return 0;
});

// Forks a child that leaves the process group and the session (setsid) and ignores the stop
// signal; writes the child's pid, then waits for the stop signal (which ends the parent alone).
bool setsid_child = test::register_role("setsid_child", [](int, char**) {
  int ready[2];
  if (::pipe(ready) < 0) return 2;
  pid_t child = ::fork();
  if (child < 0) return 3;
  if (child == 0) {
    ::setsid();
    ::signal(SIGINT, SIG_IGN);
    ::signal(SIGTERM, SIG_IGN);
    [[maybe_unused]] ssize_t n = ::write(ready[1], "x", 1);
    for (;;) ::pause();
  }
  char c;
  if (::read(ready[0], &c, 1) != 1) return 4;
  write_file(env_or_empty(kFileVar), std::to_string(child));
  for (;;) ::pause();
  return 0;
});

}  // namespace
}  // namespace herd::e2e
