// LineSplitter: turns an app's output byte stream into lines, with bounded memory.
//
// Bytes go in with feed(), in chunks of any size split anywhere; each complete line comes out
// through the callback, without its '\n' (a '\r' before it is kept: bytes are not interpreted).
// A line without its '\n' yet is held until the rest arrives, or handed out by finish() at end
// of stream. A line longer than `max_line` bytes is handed out in pieces of `max_line` bytes,
// each as a line of its own, so at most `max_line` bytes are ever held.
//
// With `timestamps` (the app's `time` / --time), each line (and each piece) starts with the
// local time at which the daemon read the line's end (one clock reading per feed() call),
// ISO-8601 with milliseconds and the UTC offset, then ": ", e.g. "2026-11-28T07:38:42.123+01:00:
// hello". PM2's --time writes "YYYY-MM-DDTHH:mm:ss"; herd adds the milliseconds (apps log many
// lines a second) and the offset (a log read elsewhere, or across a DST change, stays unambiguous),
// and the result still sorts and parses as ISO-8601. The time is the daemon's clock in its time
// zone (TZ).
//
// Threads: not thread-safe; one owner.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace herd::manager {

// Writes `t` as local time "YYYY-MM-DDTHH:MM:SS.mmm+HH:MM" (29 characters) into `out`,
// replacing its contents.
void format_timestamp(std::chrono::system_clock::time_point t, std::string* out);
std::string format_timestamp(std::chrono::system_clock::time_point t);

class LineSplitter {
 public:
  static constexpr std::size_t kDefaultMaxLine = 64 * 1024;

  struct Options {
    std::size_t max_line = kDefaultMaxLine;  // 0 is taken as 1
    bool timestamps = false;
  };
  // Receives one line: the timestamp prefix (if any) and the line's bytes, without '\n'. The
  // view is valid only during the call.
  using LineCallback = std::function<void(std::string_view line)>;

  explicit LineSplitter(Options options);
  LineSplitter() : LineSplitter(Options()) {}

  // Splits `data`, calling `on_line` for every line it completes (and every max_line piece).
  void feed(std::string_view data, const LineCallback& on_line);
  // End of stream: hands out the held partial line, if any, as a last line.
  void finish(const LineCallback& on_line);

  // Bytes of the partial line held now (at most max_line).
  std::size_t pending() const { return partial_.size(); }
  const Options& options() const { return options_; }

 private:
  void append_partial(std::string_view text, const LineCallback& on_line);
  void emit(std::string_view text, const LineCallback& on_line);
  void make_prefix();

  Options options_;
  std::string partial_;  // the start of a line whose '\n' has not come yet
  std::string line_;     // scratch: prefix + line, reused
  // The prefix for the current feed() call, computed at its first line.
  std::string prefix_;
  bool prefix_valid_ = false;
  // Cache of the formatted second (all but the milliseconds and offset change once a second).
  std::int64_t cached_second_ = -1;
  std::string cached_head_;  // "YYYY-MM-DDTHH:MM:SS"
  std::string cached_zone_;  // "+HH:MM"
};

}  // namespace herd::manager
