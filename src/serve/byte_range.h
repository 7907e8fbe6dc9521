// A request's Range header against a file's size (RFC 9110, section 14): what `herd serve`
// sends back.
//
// Only one range of bytes is served as such: "bytes=a-b", "bytes=a-" and "bytes=-n" (the last
// n bytes), with optional white space around the range. A header this does not read (another
// unit, a syntax error, a last position before the first, a number that overflows) is ignored
// and the whole file is sent, as RFC 9110 allows; so is a list of several ranges (a server may
// answer a multi-range request with the whole representation, and multipart answers are not
// made). A range that starts at or past the end of the file (including any range of an empty
// file, and "-0") is unsatisfiable: 416 with "Content-Range: bytes */<size>".
//
// Pure; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace herd::serve {

enum class RangeKind {
  kWhole,          // 200 with the whole file
  kPartial,        // 206 with [first, first + length)
  kUnsatisfiable,  // 416
};

struct RangeAnswer {
  RangeKind kind = RangeKind::kWhole;
  std::uint64_t first = 0;
  std::uint64_t length = 0;  // > 0 for kPartial
};

RangeAnswer parse_range(std::string_view header, std::uint64_t size);

// The Content-Range value of an answer: "bytes 0-99/1000" (kPartial), "bytes */1000"
// (kUnsatisfiable); "" for kWhole.
std::string content_range(const RangeAnswer& answer, std::uint64_t size);

}  // namespace herd::serve
