// End-to-end tests drive the real `herd` binary (build/bin/herd, next to this test binary) with a
// temporary HERD_HOME of their own: every test starts its own daemon and, in TearDown, kills it,
// every process it ran, and removes the directory, whether the test passed or not. A daemon,
// keeper or `herd runtime` of the home still running 20 s after `herd kill`, or after the
// directory is removed, fails the test (and is killed): a leaked daemon is a bug.
//
// Waiting is always for a condition with a deadline (jlist polled every 20 ms, files and /proc
// polled likewise), never a fixed sleep; assertions are about order and causality, not speed.
//
// The test binary itself is also the app for tests that need one in C++ (roles.cc): it runs the
// role named by HERD_TEST_ROLE, which `herd start` passes on through the app's environment.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "e2e/process.h"

namespace herd::e2e {

using namespace std::chrono_literals;
using Json = nlohmann::json;
// Variables added to (or replacing those of) the test's own environment for one command.
using EnvVars = std::vector<std::pair<std::string, std::string>>;

// Deadlines: generous, since they only bound a failure; a passing test never waits them out.
inline constexpr Ms kCommandTimeout = 30s;
inline constexpr Ms kWaitTimeout = 15s;

// --- environment variables the roles read (roles.cc) ---------------------------------------------
inline constexpr const char* kRoleVar = "HERD_TEST_ROLE";
inline constexpr const char* kFileVar = "HERD_E2E_FILE";        // where a role writes its result
inline constexpr const char* kReadyFileVar = "HERD_E2E_READY";  // ready_on_file waits for it

// --- files and processes -------------------------------------------------------------------------

std::string read_file(const std::string& path);  // "" when missing
inline bool contains(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}
void write_file(const std::string& path, const std::string& text, unsigned mode = 0644);
bool file_exists(const std::string& path);
long file_size(const std::string& path);  // -1 when missing

// Polls `done` every `step` until it is true or `timeout` passes; returns its last value.
bool wait_for(const std::function<bool()>& done, Ms timeout = kWaitTimeout, Ms step = 20ms);

// A process as /proc/<pid>/stat shows it; starttime tells a pid's reuse apart.
struct ProcStat {
  char state = '?';
  pid_t ppid = 0;
  unsigned long long starttime = 0;
};
std::optional<ProcStat> proc_stat(pid_t pid);

// One particular process: a pid and its start time, so that a reused pid is not mistaken for it.
struct ProcId {
  pid_t pid = 0;
  unsigned long long starttime = 0;
};
std::optional<ProcId> proc_id(pid_t pid);
// Reaped: no /proc entry any more (or the pid belongs to another process now).
bool reaped(const ProcId& p);
// Dead: reaped, or a zombie waiting for its parent.
bool dead(const ProcId& p);
// Zombie children of `parent`.
std::vector<pid_t> zombie_children(pid_t parent);
// Every child of `parent`, zombies included.
std::vector<pid_t> child_pids(pid_t parent);

// herd's long-lived processes of `home`: a daemon, its keeper, a `herd runtime` (the verb of
// their command line), with HERD_HOME=<home> exactly in their environment; zombies excluded.
std::vector<ProcId> herd_servers_of_home(const std::string& home);
// Every live process with HERD_HOME=<home> in its environment (herd's, the apps, their children).
std::vector<ProcId> processes_of_home(const std::string& home);

// The path of this test binary (also the app for the roles).
std::string test_binary();

// Runs a test's commands from `dir` (PM2 resolves script targets and writes files against the
// CLI's directory), back to the previous one at the end of the scope.
class InDir {
 public:
  explicit InDir(const std::string& dir);
  ~InDir();
  InDir(const InDir&) = delete;
  InDir& operator=(const InDir&) = delete;

 private:
  std::string old_;
};

// --- the fixture ---------------------------------------------------------------------------------

class HerdTest : public ::testing::Test {
 public:
  // The instances of app `name` in `list`, by pm_id.
  static std::vector<Json> instances(const Json& list, const std::string& name);
  // The one instance of `name`; a test failure (and an empty object) unless there is exactly one.
  static Json instance(const Json& list, const std::string& name);

 protected:
  void SetUp() override;
  void TearDown() override;

  // Runs `herd <args>` with HERD_HOME set (and `env` added) and waits for it, at most `timeout`.
  CommandResult herd(const std::vector<std::string>& args, const EnvVars& env = {},
                     Ms timeout = kCommandTimeout);
  // Starts `herd <args>` and returns at once (for `herd start` that waits, `herd logs`).
  std::unique_ptr<Process> herd_background(const std::vector<std::string>& args,
                                           const EnvVars& env = {});
  // Starts `herd runtime <args>` and returns once it holds the home (it wrote herd.pid) or has
  // exited: a command sent before it holds the home finds no daemon and starts one. For a fresh
  // home (no herd.pid yet).
  std::unique_ptr<Process> herd_runtime(const std::vector<std::string>& args,
                                        const EnvVars& env = {});
  // `herd jlist`, parsed; a failure is a test failure and gives an empty array.
  Json jlist();
  // Polls jlist every 20 ms until `pred` holds or `timeout` passes. `last` gets the last list.
  bool wait_jlist(const std::function<bool(const Json&)>& pred, Ms timeout = kWaitTimeout,
                  Json* last = nullptr);
  // Waits until every instance of `name` (at least `count` of them) has `status`.
  bool wait_status(const std::string& name, const std::string& status, std::size_t count = 1,
                   Ms timeout = kWaitTimeout, Json* last = nullptr);

  // $HERD_HOME/<name>
  std::string path(const std::string& name) const { return home_ + "/" + name; }
  // Writes an executable /bin/sh script $HERD_HOME/<name> with `body` and returns its path.
  std::string write_script(const std::string& name, const std::string& body);
  // The daemon's pid from herd.pid (0 when there is none).
  pid_t daemon_pid() const;
  // Fails the test if the daemon keeps a zombie child past the deadline.
  void expect_no_zombies();

  std::string home_;
  std::string herd_bin_;

 private:
  std::vector<std::string> environment(const EnvVars& extra) const;
  // Records the app pids the daemon wrote to $HERD_HOME/pids.
  void record_pid_files();
  // SIGKILLs every process of this home that is still alive (TearDown).
  void kill_everything_of_home();

  // Every app process seen (jlist, pid files): pid and start time, for TearDown.
  std::set<std::pair<pid_t, unsigned long long>> recorded_;
};

}  // namespace herd::e2e
