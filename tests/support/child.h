// Child: the one way tests start a process. fork + execve with the child set up in
// async-signal-safe calls only: stdin from /dev/null, stdout and stderr captured through pipes
// (or inherited, or /dev/null), chosen descriptors placed at 3, 4, ..., LISTEN_PID written with
// the child's own pid, an empty signal mask, and PR_SET_PDEATHSIG so that it dies with the test.
// The object owns the process: its destructor SIGKILLs and reaps it if it has not been reaped,
// so no test leaks one, whichever way it ends. Every wait has a deadline.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace herd::test {

using Ms = std::chrono::milliseconds;

// Where the child's stdout or stderr goes.
enum class Output { kCapture, kInherit, kNull };

struct ChildSpec {
  std::vector<std::string> argv;  // argv[0] is the path executed (no PATH search)
  // The environment: this process's own (inherit_env) minus the entries that start with one of
  // `env_remove` ("LISTEN_" drops every LISTEN_*, "PORT=" only PORT), then `env` ("KEY=value"),
  // each replacing an inherited entry of the same key. Without inherit_env, exactly `env`.
  bool inherit_env = true;
  std::vector<std::string> env_remove;
  std::vector<std::string> env;
  std::vector<int> fds;       // placed at 3, 4, ... in the child, inheritable
  std::vector<int> keep_fds;  // inherited at their own numbers (FD_CLOEXEC cleared in the child)
  bool listen_pid = false;    // LISTEN_PID=<the child's own pid>
  Output out = Output::kCapture;
  Output err = Output::kCapture;
  bool die_with_parent = true;  // PR_SET_PDEATHSIG(SIGKILL)
};

// How a process ended and what it wrote.
struct RunResult {
  bool exited = false;  // exited normally (not by a signal, not killed at the deadline)
  int exit_code = -1;   // -1 unless it exited
  int term_signal = 0;
  bool timed_out = false;
  std::string out;
  std::string err;

  // The exit code, or 128 + the signal that ended it; nullopt when it timed out.
  std::optional<int> code() const;
};
std::ostream& operator<<(std::ostream& os, const RunResult& r);

class Child {
 public:
  Child() = default;
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // Starts the process (once per object). False, with errno, when a pipe or fork failed; an
  // exec that fails shows as exit code 127.
  bool start(const ChildSpec& spec);

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && !reaped_; }
  const std::string& out() const { return result_.out; }
  const std::string& err() const { return result_.err; }
  // What it wrote so far and, once reaped, how it ended.
  const RunResult& result() const { return result_; }
  // Once reaped: the exit code, or 128 + the signal; nullopt before.
  std::optional<int> code() const { return reaped_ ? result_.code() : std::nullopt; }

  // Reads what the child wrote, waiting at most `wait` for something to arrive.
  void pump(Ms wait);
  // Reads output until done() holds, the deadline passes or both pipes are closed; returns
  // done()'s last value.
  bool pump_until(const std::function<bool()>& done, Ms timeout);
  // pump_until on what it wrote to stdout.
  bool wait_output(const std::function<bool(const std::string& out)>& pred, Ms timeout);
  // Waits for the child to exit, reading its output meanwhile and then what it left in the
  // pipes (a process it started may still hold them: that does not delay this). False when
  // `timeout` passed first: the child still runs.
  bool wait_exit(Ms timeout);
  // Reaps the child if it has exited, without waiting; true once it is reaped.
  bool try_reap();
  // Sends `sig` while the child has not been reaped.
  void signal(int sig);
  // SIGKILL and reap (what the destructor does).
  void kill_and_reap();

 private:
  void poll_pipes(Ms wait, bool with_exit);
  void read_ready(int* fd, std::string* sink);
  void record(int status);

  pid_t pid_ = -1;
  bool reaped_ = false;
  int out_fd_ = -1;
  int err_fd_ = -1;
  int pid_fd_ = -1;  // readable once the child has exited (pidfd_open), or -1
  RunResult result_;
};

// Runs `spec` to its end: waits at most `timeout`, then SIGKILLs it (timed_out).
RunResult run(const ChildSpec& spec, Ms timeout);

// Kills and reaps, however the test ends, a process the test forked itself (when the child must
// run the test's own code, such as setpgid before pause, which Child cannot do after exec).
struct ForkedGuard {
  pid_t pid;
  ~ForkedGuard();
};

}  // namespace herd::test
