// Probe: one health check of one instance, run on the daemon's loop without ever blocking it.
//
//   http: a non-blocking connect to host:port, "GET <path> HTTP/1.1" with Connection: close,
//         then only the status line is read (HttpStatusLine, at most 1 KiB): 2xx/3xx passes.
//   tcp:  a non-blocking connect that succeeds passes.
//   exec: the command (split like a shell, executed directly) spawned as the daemon spawns apps
//         (own process group, dies with the daemon), in the app's cwd, with the instance's
//         environment plus HERD_PID; exit 0 passes. At the timeout its whole group is killed.
// Every kind fails at `timeout` with "timed out after 2s". The result's `detail` says what
// happened in a few words ("HTTP 200", "connect: Connection refused", "exit code 1").
//
// One run at a time: run() while busy() is a bug (the monitor never does it). `done` runs from a
// loop callback, never from inside run(); it may destroy the Probe only via its owner's deferred
// paths (the monitor does not). Destroying a Probe mid-run cancels it: the connection is closed,
// an exec's process group killed, and `done` never runs.
//
// Threads: the daemon's loop thread only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "app/health_check.h"
#include "daemon/health/http_status_line.h"
#include "herd/loop/timer.h"

namespace herd {
class Stream;
}

namespace herd::manager {

class InstanceHost;

struct ProbeTarget {
  int port = 0;                  // http/tcp
  std::vector<std::string> env;  // exec: "KEY=value"
  std::string cwd;               // exec
  pid_t pid = 0;                 // exec: HERD_PID
};

struct ProbeResult {
  bool ok = false;
  std::string detail;
  std::uint64_t latency_us = 0;
};

class Probe {
 public:
  using Done = std::function<void(ProbeResult)>;
  Probe(InstanceHost& host, const HealthCheck& check);
  ~Probe();
  Probe(const Probe&) = delete;
  Probe& operator=(const Probe&) = delete;

  void run(const ProbeTarget& target, Done done);
  bool busy() const { return busy_; }

 private:
  void run_connect(const ProbeTarget& target);
  void run_exec(const ProbeTarget& target);
  void on_connected();
  void finish(bool ok, std::string detail);
  void drop_connection();
  void kill_child();

  InstanceHost& host_;
  HealthCheck check_;
  Timer timeout_;
  Done done_;
  bool busy_ = false;
  std::uint64_t started_us_ = 0;
  std::unique_ptr<Stream> stream_;
  std::unique_ptr<Stream> closed_;  // the last run's stream, closed; destroyed at the next run
  HttpStatusLine status_;
  pid_t child_ = 0;  // exec: the running command
};

}  // namespace herd::manager
