// Errors as values. Every system call failure becomes an Error in exactly one place
// (Error::from_errno), and fallible functions return Result<T> = std::expected<T, Error>.
#pragma once

#include <expected>
#include <string>
#include <string_view>

namespace herd {

// An error: a code (an errno value such as ECONNREFUSED, or EINVAL for bad input) and the
// context a person needs to act on it ("connect 127.0.0.1:80"). Cheap to move; safe to copy.
class Error {
 public:
  Error(int code, std::string context) : code_(code), context_(std::move(context)) {}

  // Builds an Error from the current value of errno. Call it right after the failing call.
  static Error from_errno(std::string_view context);

  // The errno value (always > 0).
  int code() const { return code_; }
  // What was being done, without the reason.
  const std::string& context() const { return context_; }
  // "context: reason", e.g. "bind 127.0.0.1:80: Permission denied".
  std::string message() const;
  // The symbolic name of code(), e.g. "EADDRINUSE"; "E<number>" when unknown.
  std::string_view code_name() const;

 private:
  int code_;
  std::string context_;
};

template <class T>
using Result = std::expected<T, Error>;

// For operations that return nothing on success.
using Status = std::expected<void, Error>;

// Shorthand for returning a failure: `return fail(EINVAL, "bad port")`.
inline std::unexpected<Error> fail(int code, std::string context) {
  return std::unexpected<Error>(Error(code, std::move(context)));
}
inline std::unexpected<Error> fail_errno(std::string_view context) {
  return std::unexpected<Error>(Error::from_errno(context));
}

}  // namespace herd
