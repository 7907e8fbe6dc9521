// A stand-in for the daemon on a home's control socket, for the CLI's side of what a real daemon
// rarely does: answer as an older version would, or hang up in the middle of a command.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "herd/base/fd.h"

namespace herd::e2e {

class FakeDaemon {
 public:
  // The reply line to a request (its "id" is added), or nullopt to hang up the connection.
  using Answer = std::function<std::optional<nlohmann::json>(const nlohmann::json& request)>;

  // Listens on `socket` (a file left there is replaced) and answers each connection's request
  // lines with `answer`, on a thread of its own, until destroyed.
  FakeDaemon(std::string socket, Answer answer);
  ~FakeDaemon();  // stops the thread and removes the socket file
  FakeDaemon(const FakeDaemon&) = delete;
  FakeDaemon& operator=(const FakeDaemon&) = delete;

  // Whether it listens (false: the test's ASSERT says why, with errno).
  bool listening() const { return listener_.valid(); }
  // The requests received so far, in order.
  std::vector<nlohmann::json> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  void run();
  void serve(Fd connection);

  std::string socket_;
  Answer answer_;
  Fd listener_;
  std::atomic<bool> done_{false};
  mutable std::mutex mu_;
  std::vector<nlohmann::json> requests_;
  std::thread thread_;
};

}  // namespace herd::e2e
