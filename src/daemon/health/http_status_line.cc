#include "daemon/health/http_status_line.h"

#include <fmt/format.h>

namespace herd::manager {
namespace {

// The first bytes of what the peer sent, printable, for the failure reason.
std::string shown(std::string_view s) {
  if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
  std::string out;
  for (char c : s.substr(0, 24)) {
    out +=
        (static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f) ? c : '?';
  }
  if (s.size() > 24) out += "...";
  return out;
}

}  // namespace

HttpStatusLine::State HttpStatusLine::fail(std::string why) {
  state_ = State::kFailed;
  error_ = std::move(why);
  return state_;
}

HttpStatusLine::State HttpStatusLine::feed(std::string_view chunk) {
  if (state_ != State::kMore) return state_;
  std::size_t nl = chunk.find('\n');
  std::size_t take = nl == std::string_view::npos ? chunk.size() : nl;
  if (line_.size() + take > kMaxLine) {
    line_.append(chunk.substr(0, kMaxLine - std::min(kMaxLine, line_.size())));
    return fail(fmt::format("not an HTTP response (no status line in the first {} bytes: '{}')",
                            kMaxLine, shown(line_)));
  }
  line_.append(chunk.substr(0, take));
  // A prefix that cannot become "HTTP/" fails at once, rather than waiting for a line end.
  constexpr std::string_view kProto = "HTTP/";
  std::size_t n = std::min(line_.size(), kProto.size());
  if (line_.compare(0, n, kProto.substr(0, n)) != 0) {
    return fail(fmt::format("not an HTTP response ('{}')", shown(line_)));
  }
  if (nl == std::string_view::npos) return state_;
  return parse_line();
}

HttpStatusLine::State HttpStatusLine::parse_line() {
  std::string_view l = line_;
  if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
  // HTTP/1.x SP 3DIGIT [SP reason]
  if (l.size() < 12 || l.substr(0, 7) != "HTTP/1." || l[8] != ' ' ||
      (l.size() > 12 && l[12] != ' ')) {
    return fail(fmt::format("not an HTTP response ('{}')", shown(l)));
  }
  int code = 0;
  for (std::size_t i = 9; i < 12; ++i) {
    if (l[i] < '0' || l[i] > '9') return fail(fmt::format("not an HTTP response ('{}')", shown(l)));
    code = code * 10 + (l[i] - '0');
  }
  if (code < 100) return fail(fmt::format("not an HTTP response ('{}')", shown(l)));
  code_ = code;
  state_ = State::kDone;
  return state_;
}

HttpStatusLine::State HttpStatusLine::finish() {
  if (state_ != State::kMore) return state_;
  if (line_.empty()) return fail("connection closed with no response");
  return fail(fmt::format("connection closed in the status line ('{}')", shown(line_)));
}

}  // namespace herd::manager
