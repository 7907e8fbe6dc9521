#include "metrics/kept_file.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

namespace herd::manager {
namespace {

std::size_t default_budget() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur == RLIM_INFINITY) return 4096;
  return static_cast<std::size_t>(r.rlim_cur / 4);
}

std::atomic<std::size_t>& budget_slot() {
  static std::atomic<std::size_t> b{default_budget()};
  return b;
}

std::atomic<std::size_t>& held_slot() {
  static std::atomic<std::size_t> n{0};
  return n;
}

// Takes one descriptor from the budget; false when it is spent.
bool take() {
  std::size_t n = held_slot().load(std::memory_order_relaxed);
  do {
    if (n >= budget_slot().load(std::memory_order_relaxed)) return false;
  } while (!held_slot().compare_exchange_weak(n, n + 1, std::memory_order_relaxed));
  return true;
}

void give_back() { held_slot().fetch_sub(1, std::memory_order_relaxed); }

ssize_t pread_all(int fd, char* buf, std::size_t size) {
  ssize_t n;
  do {
    n = ::pread(fd, buf, size - 1, 0);
  } while (n < 0 && errno == EINTR);
  if (n >= 0) buf[n] = '\0';
  return n;
}

}  // namespace

KeptFile::KeptFile(KeptFile&& other) noexcept
    : path_(std::move(other.path_)), fd_(std::move(other.fd_)) {}

KeptFile& KeptFile::operator=(KeptFile&& other) noexcept {
  if (this != &other) {
    close();
    path_ = std::move(other.path_);
    fd_ = std::move(other.fd_);
  }
  return *this;
}

void KeptFile::close() {
  if (!fd_.valid()) return;
  fd_.reset();
  give_back();
}

ssize_t KeptFile::read(char* buf, std::size_t size) {
  if (size == 0) {
    errno = EINVAL;
    return -1;
  }
  if (fd_.valid()) {
    ssize_t n = pread_all(fd_.get(), buf, size);
    if (n < 0) {
      int saved = errno;
      close();
      errno = saved;
    }
    return n;
  }
  auto fd = Fd::open(path_.c_str(), O_RDONLY);
  if (!fd) {
    errno = fd.error().code();
    return -1;
  }
  ssize_t n = pread_all(fd->get(), buf, size);
  if (n >= 0 && take()) fd_ = std::move(*fd);  // else it closes here: read once, as before
  return n;
}

void KeptFile::set_budget(std::size_t descriptors) {
  budget_slot().store(descriptors, std::memory_order_relaxed);
}

std::size_t KeptFile::budget() { return budget_slot().load(std::memory_order_relaxed); }

std::size_t KeptFile::held() { return held_slot().load(std::memory_order_relaxed); }

}  // namespace herd::manager
