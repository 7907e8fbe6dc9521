#include "e2e/traffic.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "e2e/herd_fixture.h"

namespace herd::e2e {
namespace {

// The body of a complete HTTP/1.1 answer in `in` (Content-Length framing), and how many bytes
// the answer took; npos when it is not complete yet.
std::size_t complete_answer(const std::string& in, std::string* body, bool* close) {
  std::size_t head_end = in.find("\r\n\r\n");
  if (head_end == std::string::npos) return std::string::npos;
  std::string head = in.substr(0, head_end);
  std::string lower = head;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  std::size_t length = 0;
  if (auto at = lower.find("content-length:"); at != std::string::npos) {
    length = std::strtoul(lower.c_str() + at + 15, nullptr, 10);
  }
  *close = lower.find("connection: close") != std::string::npos;
  std::size_t total = head_end + 4 + length;
  if (in.size() < total) return std::string::npos;
  *body = in.substr(head_end + 4, length);
  return total;
}

}  // namespace

std::string exchange(int port, const std::string& request, Ms timeout, std::string* error) {
  int fd = connect_tcp(port);
  if (fd < 0) {
    *error = std::string("connect: ") + std::strerror(-fd);
    return {};
  }
  if (!request.empty() && ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
                              static_cast<ssize_t>(request.size())) {
    *error = std::string("send: ") + std::strerror(errno);
    ::close(fd);
    return {};
  }
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<Ms>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      *error = "no complete answer in time";
      break;
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[512];
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      *error = std::string("read: ") + std::strerror(errno);
      break;
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

Traffic::Traffic(int port, std::string body, Mode mode)
    : port_(port), body_(std::move(body)), mode_(mode), thread_([this] {
        if (mode_ == Mode::kKeepAlive) {
          run_keep_alive();
        } else {
          run();
        }
      }) {}

Traffic::~Traffic() { stop(); }

void Traffic::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

std::string Traffic::failures() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (const auto& f : failures_) out += f + "\n";
  return out;
}

std::vector<std::string> Traffic::bodies() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bodies_;
}

bool Traffic::wait_more(int n) {
  int target = ok_ + n;
  return wait_for([&] { return ok_ >= target; });
}

void Traffic::fail(const std::string& what) {
  ++failed_;
  if (what.find("Connection refused") != std::string::npos) ++refused_;
  std::lock_guard<std::mutex> lock(mu_);
  if (failures_.size() < 10) failures_.push_back(what);
}

void Traffic::record(const std::string& body) {
  ++ok_;
  std::lock_guard<std::mutex> lock(mu_);
  if (bodies_.size() < 64 && std::find(bodies_.begin(), bodies_.end(), body) == bodies_.end()) {
    bodies_.push_back(body);
  }
}

void Traffic::run() {
  const std::string request =
      mode_ == Mode::kPost
          ? "POST / HTTP/1.1\r\nHost: e2e\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
          : "GET / HTTP/1.1\r\nHost: e2e\r\nConnection: close\r\n\r\n";
  while (!stop_) {
    if (stop_connecting_) {
      std::this_thread::sleep_for(5ms);  // nothing to do until stop(): no new connection
      continue;
    }
    std::string error;
    std::string answer = exchange(port_, request, 10s, &error);
    if (!error.empty()) {
      fail(error);
      continue;
    }
    std::string body;
    bool close = false;
    if (answer.find(" 200 ") == std::string::npos ||
        complete_answer(answer, &body, &close) == std::string::npos ||
        body.find(body_) == std::string::npos) {
      fail("unexpected answer: " + answer.substr(0, 80));
      continue;
    }
    record(body);
  }
}

void Traffic::run_keep_alive() {
  const std::string request = "GET / HTTP/1.1\r\nHost: e2e\r\n\r\n";
  int fd = -1;
  std::string in;
  while (!stop_) {
    if (fd < 0 && stop_connecting_) {
      std::this_thread::sleep_for(5ms);  // nothing to do until stop(): no new connection
      continue;
    }
    if (fd < 0) {
      fd = connect_tcp(port_);
      if (fd < 0) {
        fail(std::string("connect: ") + std::strerror(-fd));
        fd = -1;
        continue;
      }
      in.clear();
    }
    std::string error;
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
      error = std::string("send: ") + std::strerror(errno);
    }
    std::string body;
    bool close = false;
    auto deadline = std::chrono::steady_clock::now() + 10s;
    std::size_t used = std::string::npos;
    while (error.empty() && (used = complete_answer(in, &body, &close)) == std::string::npos) {
      auto left = std::chrono::duration_cast<Ms>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        error = "no complete answer in time";
        break;
      }
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[1024];
      ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n < 0) error = std::string("read: ") + std::strerror(errno);
      if (n == 0) error = "the server closed the connection before answering";
      if (n > 0) in.append(buf, static_cast<std::size_t>(n));
    }
    if (error.empty() &&
        (in.find(" 200 ") == std::string::npos || body.find(body_) == std::string::npos)) {
      error = "unexpected answer: " + in.substr(0, 80);
    }
    if (!error.empty()) {
      fail(error);
      ::close(fd);
      fd = -1;
      continue;
    }
    in.erase(0, used);
    record(body);
    if (close) {
      ::close(fd);
      fd = -1;
    }
  }
  if (fd >= 0) ::close(fd);
}

}  // namespace herd::e2e
