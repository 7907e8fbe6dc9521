#include "daemon/cluster_mode/accept_counter.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

extern "C" {
#include "inject/bind_protocol.h"
}

namespace herd::manager {

Result<std::unique_ptr<AcceptCounter>> AcceptCounter::create() {
  int raw = ::memfd_create("herd-accepts", MFD_CLOEXEC);
  if (raw < 0) return std::unexpected(Error::from_errno("memfd_create"));
  Fd fd(raw);
  if (::ftruncate(fd.get(), HERD_ACCEPT_PAGE_SIZE) < 0) {
    return std::unexpected(Error::from_errno("ftruncate accept counter"));
  }
  void* page =
      ::mmap(nullptr, HERD_ACCEPT_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (page == MAP_FAILED) return std::unexpected(Error::from_errno("mmap accept counter"));
  auto* p = static_cast<herd_accept_page*>(page);
  __atomic_store_n(&p->accepted, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&p->magic, HERD_ACCEPT_MAGIC, __ATOMIC_RELEASE);
  return std::unique_ptr<AcceptCounter>(new AcceptCounter(std::move(fd), page));
}

Result<std::unique_ptr<AcceptCounter>> AcceptCounter::adopt(Fd fd) {
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0 || !S_ISREG(st.st_mode) || st.st_size != HERD_ACCEPT_PAGE_SIZE) {
    return fail(EINVAL, "the accept counter handed over is not a counter page");
  }
  void* page =
      ::mmap(nullptr, HERD_ACCEPT_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (page == MAP_FAILED) return std::unexpected(Error::from_errno("mmap accept counter"));
  if (__atomic_load_n(&static_cast<herd_accept_page*>(page)->magic, __ATOMIC_ACQUIRE) !=
      HERD_ACCEPT_MAGIC) {
    ::munmap(page, HERD_ACCEPT_PAGE_SIZE);
    return fail(EINVAL, "the accept counter handed over is not a counter page");
  }
  return std::unique_ptr<AcceptCounter>(new AcceptCounter(std::move(fd), page));
}

AcceptCounter::~AcceptCounter() { ::munmap(page_, HERD_ACCEPT_PAGE_SIZE); }

std::uint64_t AcceptCounter::read() const {
  return __atomic_load_n(&static_cast<herd_accept_page*>(page_)->accepted, __ATOMIC_RELAXED);
}

}  // namespace herd::manager
