// HttpStatusLine: reads just the status line of an HTTP/1.x response, bytes as they arrive,
// with a bound on what it reads (a health probe needs the code, nothing else).
//
//   feed("HTTP/1.1 200 OK\r\n...") -> kDone, code() == 200
//   feed("garbage")                -> kFailed, error() == "not an HTTP response (...)"
//   feed("HTTP/1.1 2")             -> kMore (feed the next chunk)
//
// A line longer than kMaxLine bytes without its end fails. Pure; any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace herd::manager {

class HttpStatusLine {
 public:
  enum class State { kMore, kDone, kFailed };
  static constexpr std::size_t kMaxLine = 1024;

  // Consumes `chunk`; once kDone or kFailed, later calls change nothing.
  State feed(std::string_view chunk);
  // The connection ended: kFailed with "connection closed before ..." unless already done.
  State finish();
  State state() const { return state_; }
  int code() const { return code_; }
  const std::string& error() const { return error_; }

 private:
  State fail(std::string why);
  State parse_line();

  State state_ = State::kMore;
  std::string line_;
  int code_ = 0;
  std::string error_;
};

}  // namespace herd::manager
