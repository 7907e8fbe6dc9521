// Process: a child process run by an end-to-end test, with its stdout and stderr captured.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace herd::e2e {

using Ms = std::chrono::milliseconds;

struct CommandResult {
  int exit_code = -1;  // -1 when it died by a signal or was killed at the deadline
  int term_signal = 0;
  bool timed_out = false;
  std::string out;
  std::string err;
};
std::ostream& operator<<(std::ostream& os, const CommandResult& r);

// A child process with stdout and stderr captured through pipes. The destructor SIGKILLs and
// reaps it if it still runs.
class Process {
 public:
  Process() = default;
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // fork + exec `argv` with exactly `env` ("KEY=value"). False (with errno) when it failed.
  bool spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env);
  pid_t pid() const { return pid_; }

  // Reads what the child wrote, waiting at most `wait` for something to arrive.
  void pump(Ms wait);
  // Reads until pred(stdout) holds or `timeout` passes; returns pred's last value.
  bool wait_output(const std::function<bool(const std::string&)>& pred, Ms timeout);
  // Waits until the child exits, reading its output meanwhile (and what it left in the pipes
  // after), or until `timeout` passes (then it still runs).
  bool wait_exit(Ms timeout);
  bool running() const { return pid_ > 0 && !exited_; }
  void signal(int sig);

  const CommandResult& result() const { return result_; }

 private:
  bool try_reap();

  pid_t pid_ = 0;
  bool exited_ = false;
  int out_fd_ = -1;
  int err_fd_ = -1;
  CommandResult result_;
};

// Connects to 127.0.0.1:port (blocking): the descriptor, or -errno (ECONNREFUSED when nobody
// listens). The caller closes it.
int connect_tcp(int port);

}  // namespace herd::e2e
