#include "herd/base/error.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

namespace herd {

Error Error::from_errno(std::string_view context) {
  // errno is read first: building the string may itself change it.
  int code = errno;
  if (code == 0) code = EIO;  // A caller bug, but never report "success" as an error.
  return Error(code, std::string(context));
}

std::string Error::message() const {
  // strerrordesc_np is thread-safe and needs no buffer (glibc >= 2.32).
  const char* reason = strerrordesc_np(code_);
  if (reason == nullptr) return fmt::format("{}: error {}", context_, code_);
  return fmt::format("{}: {}", context_, reason);
}

std::string_view Error::code_name() const {
  const char* name = strerrorname_np(code_);
  return name != nullptr ? std::string_view(name) : std::string_view("EUNKNOWN");
}

}  // namespace herd
