#include "e2e/fake_daemon.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace herd::e2e {

FakeDaemon::FakeDaemon(std::string socket, Answer answer)
    : socket_(std::move(socket)), answer_(std::move(answer)) {
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un at{};
  at.sun_family = AF_UNIX;
  std::strncpy(at.sun_path, socket_.c_str(), sizeof(at.sun_path) - 1);
  ::unlink(socket_.c_str());
  if (!fd.valid() || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&at), sizeof(at)) != 0 ||
      ::listen(fd.get(), 8) != 0) {
    return;
  }
  listener_ = std::move(fd);
  thread_ = std::thread([this] { run(); });
}

FakeDaemon::~FakeDaemon() {
  done_ = true;
  if (thread_.joinable()) thread_.join();
  if (listener_.valid()) ::unlink(socket_.c_str());
}

void FakeDaemon::run() {
  while (!done_) {
    pollfd p{listener_.get(), POLLIN, 0};
    if (::poll(&p, 1, 50) != 1) continue;
    Fd c(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (c.valid()) serve(std::move(c));
  }
}

void FakeDaemon::serve(Fd c) {
  std::string in;
  char buf[4096];
  while (!done_) {
    pollfd p{c.get(), POLLIN, 0};
    if (::poll(&p, 1, 50) != 1) continue;
    ssize_t n = ::read(c.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the client is done
    in.append(buf, static_cast<std::size_t>(n));
    for (std::size_t nl; (nl = in.find('\n')) != std::string::npos; in.erase(0, nl + 1)) {
      nlohmann::json request = nlohmann::json::parse(in.substr(0, nl), nullptr, false);
      {
        std::lock_guard lock(mu_);
        requests_.push_back(request);
      }
      std::optional<nlohmann::json> reply = answer_(request);
      if (!reply) return;  // hangs up
      (*reply)["id"] = request.value("id", 0);
      std::string line = reply->dump() + "\n";
      if (::send(c.get(), line.data(), line.size(), MSG_NOSIGNAL) < 0) return;
    }
  }
}

}  // namespace herd::e2e
