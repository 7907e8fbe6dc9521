// Errors as values. Every system call failure becomes an Error in exactly one place
// (Error::from_errno), and fallible functions return Result<T> = std::expected<T, Error>.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>

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

// std::expected<T, Error> under a [[nodiscard]] name: a call whose Result is dropped does not
// compile (with -Werror). Drop one on purpose with `(void)` and a comment saying why.
// Converts both ways with std::expected<T, Error>; everything else is std::expected's.
template <class T>
class [[nodiscard]] Result : public std::expected<T, Error> {
 public:
  using Base = std::expected<T, Error>;
  using Base::Base;
  using Base::operator=;
  Result() = default;
  Result(const Base& other) : Base(other) {}
  Result(Base&& other) : Base(std::move(other)) {}
};

// For operations that return nothing on success.
using Status = Result<void>;

// Shorthand for returning a failure: `return fail(EINVAL, "bad port")`.
inline std::unexpected<Error> fail(int code, std::string context) {
  return std::unexpected<Error>(Error(code, std::move(context)));
}
inline std::unexpected<Error> fail_errno(std::string_view context) {
  return std::unexpected<Error>(Error::from_errno(context));
}

}  // namespace herd
