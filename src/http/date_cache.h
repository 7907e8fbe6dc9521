// detail::DateCache: the "Date: ...\r\n" header line of HTTP responses (RFC 9110 IMF-fixdate),
// formatted at most once per second.
//
// Threads: one cache per server, used on the server's loop thread.
#pragma once

#include <ctime>
#include <string_view>

namespace herd::http::detail {

class DateCache {
 public:
  // "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n" for the current second (wall clock).
  std::string_view line();

  // The same for a given time (for tests).
  static std::string_view format(std::time_t t, char (&buffer)[40]);

 private:
  std::time_t cached_ = -1;
  char buffer_[40] = {};
  std::string_view line_;
};

}  // namespace herd::http::detail
