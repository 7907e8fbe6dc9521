// AcceptCounter: the page an injected instance counts its accepted connections in
// (src/inject/bind_protocol.h, struct herd_accept_page), seen from the daemon.
//
// The daemon creates one per instance slot (a memfd of one page, mapped shared), passes its
// descriptor to every run of the instance (HERD_ACCEPT_FD, spawn.h), and reads the count when it
// samples the instance. The count only grows: every run of the slot adds to the same page. A
// program the library cannot reach (static, or accepting without libc) leaves it at 0.
//
// Threads: any; read() is one relaxed atomic load. The object owns the descriptor and the mapping.
#pragma once

#include <cstdint>
#include <memory>

#include "herd/base/error.h"
#include "herd/base/fd.h"

namespace herd::manager {

class AcceptCounter {
 public:
  // A new page with the magic written and a count of 0; the error of memfd_create, ftruncate or
  // mmap otherwise.
  static Result<std::unique_ptr<AcceptCounter>> create();
  // The page behind `fd`, passed on by the previous daemon (`herd update`): mapped again, its
  // count kept. EINVAL when it is not a counter page.
  static Result<std::unique_ptr<AcceptCounter>> adopt(Fd fd);
  ~AcceptCounter();
  AcceptCounter(const AcceptCounter&) = delete;
  AcceptCounter& operator=(const AcceptCounter&) = delete;

  // The descriptor to pass to the instance (CLOEXEC in the daemon; spawn() places a copy).
  int fd() const { return fd_.get(); }
  // Connections accepted so far on herd's sockets by every run of the slot.
  std::uint64_t read() const;

 private:
  AcceptCounter(Fd fd, void* page) : fd_(std::move(fd)), page_(page) {}
  Fd fd_;
  void* page_;
};

}  // namespace herd::manager
