#include "logs/line_splitter.h"

#include <fmt/format.h>

#include <cstdlib>
#include <ctime>

namespace herd::manager {
namespace {

// The parts of a local time that change at most once a second: "YYYY-MM-DDTHH:MM:SS" and the
// offset "+HH:MM". tm_gmtoff carries the offset in force at that instant, DST included.
void format_second(std::time_t secs, std::string* head, std::string* zone) {
  struct tm tm;
  if (::localtime_r(&secs, &tm) == nullptr) {
    // Out of range for the C library: fall back to the epoch in UTC rather than garbage.
    secs = 0;
    ::gmtime_r(&secs, &tm);
    tm.tm_gmtoff = 0;
  }
  *head = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", tm.tm_year + 1900, tm.tm_mon + 1,
                      tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  long off = tm.tm_gmtoff;
  char sign = off < 0 ? '-' : '+';
  off = std::labs(off);
  *zone = fmt::format("{}{:02}:{:02}", sign, off / 3600, (off % 3600) / 60);
}

// Splits `t` into whole seconds (rounded down, also before 1970) and milliseconds.
std::pair<std::time_t, int> split_ms(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::floor<std::chrono::milliseconds>(t.time_since_epoch()).count();
  auto secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  return {static_cast<std::time_t>(secs), static_cast<int>(ms - secs * 1000)};
}

}  // namespace

void format_timestamp(std::chrono::system_clock::time_point t, std::string* out) {
  auto [secs, ms] = split_ms(t);
  std::string head, zone;
  format_second(secs, &head, &zone);
  *out = fmt::format("{}.{:03}{}", head, ms, zone);
}

std::string format_timestamp(std::chrono::system_clock::time_point t) {
  std::string out;
  format_timestamp(t, &out);
  return out;
}

LineSplitter::LineSplitter(Options options) : options_(options) {
  if (options_.max_line == 0) options_.max_line = 1;
}

void LineSplitter::feed(std::string_view data, const LineCallback& on_line) {
  // One clock reading per chunk: the lines of one read arrived together anyway, and a flood of
  // short lines should not pay for a clock call and a format per line.
  prefix_valid_ = false;
  while (!data.empty()) {
    std::size_t nl = data.find('\n');
    if (nl == std::string_view::npos) {
      append_partial(data, on_line);
      return;
    }
    std::string_view line = data.substr(0, nl);
    data.remove_prefix(nl + 1);
    if (partial_.empty()) {
      // The common case: the whole line is in this chunk, hand it out without copying it.
      while (line.size() > options_.max_line) {
        emit(line.substr(0, options_.max_line), on_line);
        line.remove_prefix(options_.max_line);
      }
      emit(line, on_line);
    } else {
      append_partial(line, on_line);
      emit(partial_, on_line);
      partial_.clear();
    }
  }
}

void LineSplitter::finish(const LineCallback& on_line) {
  if (partial_.empty()) return;
  prefix_valid_ = false;
  emit(partial_, on_line);
  partial_.clear();
}

// Holds `text` after the partial line, handing out max_line pieces as the held bytes would pass
// max_line. A piece is handed out only once a byte beyond it arrives, so a line of exactly
// max_line bytes comes out whole, the same whether it arrived in one chunk or in many.
void LineSplitter::append_partial(std::string_view text, const LineCallback& on_line) {
  while (partial_.size() + text.size() > options_.max_line) {
    std::size_t take = options_.max_line - partial_.size();
    partial_.append(text.substr(0, take));
    text.remove_prefix(take);
    emit(partial_, on_line);
    partial_.clear();
  }
  partial_.append(text);
}

void LineSplitter::emit(std::string_view text, const LineCallback& on_line) {
  if (!options_.timestamps) {
    on_line(text);
    return;
  }
  if (!prefix_valid_) make_prefix();
  line_.assign(prefix_);
  line_.append(text);
  on_line(line_);
}

void LineSplitter::make_prefix() {
  auto [secs, ms] = split_ms(std::chrono::system_clock::now());
  if (secs != cached_second_) {
    format_second(secs, &cached_head_, &cached_zone_);
    cached_second_ = secs;
  }
  prefix_ = fmt::format("{}.{:03}{}: ", cached_head_, ms, cached_zone_);
  prefix_valid_ = true;
}

}  // namespace herd::manager
