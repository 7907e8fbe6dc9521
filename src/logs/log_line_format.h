// LogLineFormat: how an app's output line is written to its log files, PM2's way.
//
// Three shapes, chosen by the app's settings:
// - as written (the default; `time` is LineSplitter's own prefix, see line_splitter.h);
// - `log_date_format` (PM2's --log-date-format): "<date>: <line>", the date in the dayjs
//   format PM2 uses (format_dayjs below);
// - `log_type: json`: one JSON object per line, PM2's fields in PM2's order:
//   {"message":"<line>\n","timestamp":"...","type":"out"|"err","process_id":<id>,
//   "app_name":"<name>"}; the timestamp is in log_date_format when set, else ISO-8601 in UTC
//   with milliseconds (JavaScript's toISOString()).
//
// PM2 7.0.4 formats each chunk the app wrote (a JSON object may hold several lines, or half of
// one); herd formats each line, so every object and every prefix belongs to one whole line.
// The message keeps its '\n' as PM2's does for a line written at once (console.log); the last
// line of a stream that ended without '\n' has none.
//
// One clock reading per begin(): the lines of one read share a time, as with LineSplitter.
//
// Threads: not thread-safe; one owner.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace herd::manager {

// `t` in local time (TZ) as dayjs().format(format) writes it, with dayjs's English names:
// YYYY YY M MM MMM MMMM D DD d dd ddd dddd H HH h hh a A m mm s ss SSS Z ZZ, and [text] kept as
// text. dayjs's quirks are kept: "Y" and "YYY" (and "ZZ") write the offset without a colon, a
// token letter is a token anywhere ("s" in "logs"), and "" is dayjs's "YYYY-MM-DDTHH:mm:ssZ".
std::string format_dayjs(std::string_view format, std::chrono::system_clock::time_point t);

// `t` as JavaScript's Date.prototype.toISOString(): "2026-11-28T07:38:42.123Z".
std::string format_iso_utc(std::chrono::system_clock::time_point t);

class LogLineFormat {
 public:
  struct Options {
    std::string date_format{};  // log_date_format; "" for none
    bool json = false;          // log_type: json
    std::string type{};         // "out" or "err", for json
    int process_id = 0;         // the instance's id, for json
    std::string app_name{};     // for json
  };

  explicit LogLineFormat(Options options);

  // False when lines are written as they are (nothing to do).
  bool active() const { return options_.json || !options_.date_format.empty(); }

  // A new read: the next line takes a new clock reading.
  void begin() { stamp_valid_ = false; }
  // `line` (without '\n') in the log's shape, without '\n'. `complete` says whether the line
  // ended with '\n' (json's message keeps it). The view is valid until the next call.
  std::string_view apply(std::string_view line, bool complete);

 private:
  const std::string& stamp();

  Options options_;
  std::string stamp_;
  bool stamp_valid_ = false;
  std::string out_;
};

}  // namespace herd::manager
