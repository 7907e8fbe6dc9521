// From an HTTP request target to the file it names under the served folder: the one gate every
// request of `herd serve` passes before the file system is touched.
//
// resolve_request_path() is pure (no I/O, no locale) and total: any bytes give a path or an
// error. What it returns is a relative path that, joined to the root, names a file under the
// root by its spelling alone: no segment is "", "." or "..", nothing starts with '/', and no
// byte is NUL, '\\' or another control character. Symbolic links are the file system's part:
// site_root.h refuses those that lead out of the root.
//
// The rules, in order:
//   - origin-form ("/a/b?q") or absolute-form ("http://host/a/b"); anything else is kBadRequest;
//   - the path ends at the first '?' or '#';
//   - a path longer than kMaxTargetPath bytes is kBadRequest;
//   - split at '/', then each segment is percent-decoded: a '%' without two hex digits, an
//     encoded '/' (%2f) or '\\' (%5c), NUL (raw or %00), a raw '\\' or any other control byte
//     (below 0x20, 0x7f) is kBadRequest: a request is refused, never guessed at;
//   - empty and "." segments are dropped; ".." (however encoded: %2e%2e, .%2E) is kBadRequest;
//   - a segment that starts with '.' (.env, .git), except ".well-known", is kNotFound: a hidden
//     file is not served, as if it did not exist;
//   - a segment longer than 255 bytes, or a path of 4096 bytes or more, is kNotFound (no such
//     name can exist).
//
// Any thread.
#pragma once

#include <cstddef>
#include <expected>
#include <string>
#include <string_view>

namespace herd::serve {

inline constexpr std::size_t kMaxTargetPath = 8192;

enum class PathError {
  kBadRequest,  // 400: malformed, or an attempt to leave the root
  kNotFound,    // 404: a name that is never served
};

struct RequestPath {
  // Decoded segments joined by '/': "" for the root, "css/site.css".
  std::string relative;
  // The target's path ended with '/' (or is the root): it asks for a folder.
  bool folder = false;
};

std::expected<RequestPath, PathError> resolve_request_path(std::string_view target);

// `relative` (a resolve_request_path result) as a path for a Location header: "/" + each
// segment percent-encoded where it is not an unreserved character or a sub-delimiter.
std::string encode_path(std::string_view relative);

}  // namespace herd::serve
