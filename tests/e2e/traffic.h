// Clients for the end-to-end tests that put a server under continuous requests: one exchange on
// a fresh connection, and Traffic, a thread that sends HTTP requests without pause until
// stopped and counts what failed, on a new connection each time or over keep-alive connections.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "e2e/process.h"

namespace herd::e2e {

// Connects to 127.0.0.1:port, sends `request` (may be empty) and reads until EOF or `timeout`;
// "" with `error` set on failure.
std::string exchange(int port, const std::string& request, Ms timeout, std::string* error);

// HTTP GETs to 127.0.0.1:port, one after another on a thread of its own, until stop(). A request
// fails when its connection is refused or reset, or its answer is not a complete 200 whose body
// contains `body`.
//  - kClose: a new connection for each request (Connection: close).
//  - kKeepAlive: requests over one connection, reconnecting only after an answer that said
//    `Connection: close` (a server draining the connection the right way) or a failure.
//  - kPost: as kClose, with POSTs of a small body (a proxy such as nginx never retries those on
//    another upstream, so a request a server dropped shows as a failure).
class Traffic {
 public:
  enum class Mode { kClose, kKeepAlive, kPost };
  explicit Traffic(int port, std::string body = "Hello World!", Mode mode = Mode::kClose);
  ~Traffic();
  Traffic(const Traffic&) = delete;
  Traffic& operator=(const Traffic&) = delete;

  void stop();
  // From now on no new connection is opened (a keep-alive one goes on until the server closes
  // it). For a test that stops every server: a handshake the kernel completes in the moment
  // between the last server's final accept and its close is reset, however graceful the
  // servers are (TCP has no way to refuse it then), so only the requests already on their way
  // are the servers' to answer.
  void stop_connecting() { stop_connecting_ = true; }
  int ok() const { return ok_; }
  int failed() const { return failed_; }
  // Connections that were refused (ECONNREFUSED): nobody held the port.
  int refused() const { return refused_; }
  // The first failures, one per line.
  std::string failures() const;
  // Waits until `n` more requests than now have succeeded (or a deadline passes).
  bool wait_more(int n);
  // The answers' bodies seen (each distinct one once), e.g. the pids of the instances.
  std::vector<std::string> bodies() const;

 private:
  void run();
  void run_keep_alive();
  void fail(const std::string& what);
  void record(const std::string& body);

  int port_;
  std::string body_;
  Mode mode_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> stop_connecting_{false};
  std::atomic<int> ok_{0};
  std::atomic<int> failed_{0};
  std::atomic<int> refused_{0};
  mutable std::mutex mu_;
  std::vector<std::string> failures_;
  std::vector<std::string> bodies_;
  std::thread thread_;
};

}  // namespace herd::e2e
