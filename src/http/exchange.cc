#include "http/exchange.h"

#include <array>
#include <charconv>

#include "base/ascii.h"
#include "herd/base/log.h"
#include "herd/http/response.h"
#include "http/connection.h"

namespace herd::http::detail {
namespace {

constexpr std::size_t kHeadReserve = 160;

using herd::detail::iequals;

// RFC 9110 token characters, as a table: set_header runs for every header of every response.
constexpr auto kTokenChars = [] {
  std::array<bool, 256> t{};
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}();

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!kTokenChars[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

// No CR, LF or NUL: a value must not be able to start a header of its own (response splitting).
bool is_safe_value(std::string_view s) {
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

void append_number(std::string& out, std::uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, r.ptr);
}

// Removes every "name: ...\r\n" line of `headers` whose name is `name` (case-insensitive).
void remove_header(std::string& headers, std::string_view name) {
  std::size_t pos = 0;
  while (pos < headers.size()) {
    std::size_t eol = headers.find("\r\n", pos);
    std::size_t next = eol == std::string::npos ? headers.size() : eol + 2;
    std::size_t colon = headers.find(':', pos);
    if (colon < next && iequals(std::string_view(headers).substr(pos, colon - pos), name)) {
      headers.erase(pos, next - pos);
    } else {
      pos = next;
    }
  }
}

}  // namespace

void Exchange::clear() {
  conn_ = nullptr;
  status_ = 200;
  headers_.clear();
  out_.clear();
  drain_cb_ = nullptr;
  content_length_ = body_sent_ = user_content_length_ = started_ns_ = 0;
  has_user_content_length_ = user_transfer_encoding_ = user_date_ = user_close_ = false;
  head_request_ = http10_ = must_close_ = false;
  head_sent_ = finished_ = completed_ = no_body_ = chunked_ = framed_by_length_ = false;
  close_ = want_drain_ = false;
}

void Exchange::begin(Connection* conn, bool head_request, bool http10, bool must_close) {
  clear();
  conn_ = conn;
  head_request_ = head_request;
  http10_ = http10;
  must_close_ = must_close;
}

void Exchange::detach(bool completed) {
  conn_ = nullptr;
  completed_ = completed;
  out_.clear();
  // The callback may hold the Response, and with it this exchange: drop the cycle. Moved out
  // first, and destroyed at the end of this function: destroying it may destroy that Response,
  // whose destructor (abandon) must find drain_cb_ empty, not in the middle of its own
  // destruction. The connection still holds this exchange meanwhile.
  std::function<void()> cb = std::move(drain_cb_);
  drain_cb_ = nullptr;
}

void Exchange::set_status(int code) {
  if (head_sent_ || finished_) {
    log_warn("http: set_status({}) after the response head was sent; ignored", code);
    return;
  }
  if (code < 100 || code > 999) {
    log_warn("http: set_status({}): not a status code; ignored", code);
    return;
  }
  status_ = code;
}

void Exchange::set_header(std::string_view name, std::string_view value, bool replace) {
  if (head_sent_ || finished_) {
    log_warn("http: header {} set after the response head was sent; ignored", name);
    return;
  }
  if (!is_token(name) || !is_safe_value(value)) {
    log_warn("http: invalid response header {:?}; ignored", name);
    return;
  }
  // The headers that change how the server frames the response are remembered as facts (the
  // length test first: most names are none of them).
  const std::size_t n = name.size();
  if (n == 10 && iequals(name, "connection")) {
    // The server writes Connection itself; the handler can only ask for the close.
    for (std::size_t i = 0; i + 5 <= value.size(); ++i) {
      if (iequals(value.substr(i, 5), "close")) user_close_ = true;
    }
    return;
  }
  if (n == 14 && iequals(name, "content-length")) {
    std::uint64_t v = 0;
    auto r = std::from_chars(value.data(), value.data() + value.size(), v);
    if (r.ec != std::errc() || r.ptr != value.data() + value.size()) {
      log_warn("http: Content-Length {:?} is not a number; ignored", value);
      return;
    }
    has_user_content_length_ = true;
    user_content_length_ = v;
    replace = true;
  } else if (n == 17 && iequals(name, "transfer-encoding")) {
    user_transfer_encoding_ = true;
  } else if (n == 4 && iequals(name, "date")) {
    user_date_ = true;
    replace = true;
  }
  if (replace && !headers_.empty()) remove_header(headers_, name);
  headers_.append(name);
  headers_.append(": ");
  headers_.append(value);
  headers_.append("\r\n");
}

void Exchange::append_head(std::string& out, std::uint64_t body_size, bool streaming) {
  const bool bodiless_status = status_ < 200 || status_ == 204 || status_ == 304;
  no_body_ = head_request_ || bodiless_status;
  if (!bodiless_status) {
    if (has_user_content_length_) {
      framed_by_length_ = true;
      content_length_ = user_content_length_;
    } else if (!streaming) {
      framed_by_length_ = true;
      content_length_ = body_size;
    } else if (!http10_) {
      chunked_ = true;
    } else {
      // An HTTP/1.0 client knows neither chunks nor a length we do not have: the close ends it.
      user_close_ = true;
    }
  }
  close_ = must_close_ || user_close_ || conn_->closes_after(this);

  out.append("HTTP/1.1 ");
  append_number(out, static_cast<std::uint64_t>(status_));
  out.push_back(' ');
  out.append(status_text(status_));
  out.append("\r\n");
  out.append(headers_);
  if (!user_date_) out.append(conn_->date_line());
  if (!bodiless_status) {
    if (framed_by_length_ && !has_user_content_length_) {
      out.append("Content-Length: ");
      append_number(out, content_length_);
      out.append("\r\n");
    } else if (chunked_ && !user_transfer_encoding_) {
      out.append("Transfer-Encoding: chunked\r\n");
    }
  }
  if (close_) {
    out.append("Connection: close\r\n");
  } else if (http10_) {
    out.append("Connection: keep-alive\r\n");
  }
  out.append("\r\n");
  head_sent_ = true;
  conn_->on_head(this, status_);
}

void Exchange::append_chunk(std::string& out, std::string_view data) const {
  if (data.empty()) return;  // an empty chunk would end the body
  char buf[20];
  auto r = std::to_chars(buf, buf + sizeof(buf), data.size(), 16);
  out.append(buf, r.ptr);
  out.append("\r\n");
  out.append(data);
  out.append("\r\n");
}

bool Exchange::write(std::string_view chunk) {
  if (finished_) {
    log_warn("http: Response::write after end(); ignored");
    return false;
  }
  if (conn_ == nullptr) return false;
  std::string& out = buf_;
  out.clear();
  if (!head_sent_) {
    out.reserve(kHeadReserve + headers_.size() + chunk.size() + 16);
    append_head(out, 0, true);
  }
  if (!no_body_ && !chunk.empty()) {
    body_sent_ += chunk.size();
    if (chunked_) {
      append_chunk(out, chunk);
    } else {
      out.append(chunk);
    }
  }
  bool below = out.empty() ? conn_->below_high_water(this) : conn_->send(this, out);
  if (!below) want_drain_ = true;
  return below;
}

void Exchange::end(std::string_view body) {
  if (finished_) {
    log_warn("http: Response::end called twice; ignored");
    return;
  }
  if (conn_ == nullptr) {
    finished_ = true;
    drain_cb_ = nullptr;
    return;
  }
  std::string& out = buf_;
  out.clear();
  if (!head_sent_) {
    out.reserve(kHeadReserve + headers_.size() + body.size());
    append_head(out, body.size(), false);
    if (!no_body_) {
      out.append(body);
      body_sent_ += body.size();
    }
  } else if (!no_body_) {
    if (chunked_) {
      out.reserve(body.size() + 32);
      append_chunk(out, body);
      out.append("0\r\n\r\n");
    } else {
      out.append(body);
    }
    body_sent_ += body.size();
  }
  if (framed_by_length_ && !no_body_ && body_sent_ != content_length_) {
    // The head promised another length: the client cannot find the next response's start.
    log_warn("http: response body of {} bytes, Content-Length said {}; closing the connection",
             body_sent_, content_length_);
    close_ = true;
  }
  finished_ = true;
  want_drain_ = false;
  drain_cb_ = nullptr;
  Connection* conn = conn_;
  if (!out.empty()) conn->send(this, out);
  conn->finish(this);
}

void Exchange::on_drain(std::function<void()> cb) {
  if (finished_ || conn_ == nullptr) return;
  drain_cb_ = std::move(cb);
}

void Exchange::answer_error(int status) {
  if (head_sent_ || finished_ || conn_ == nullptr) return;
  headers_.clear();
  has_user_content_length_ = user_transfer_encoding_ = user_date_ = false;
  status_ = status;
  must_close_ = true;
  end({});
}

void Exchange::abandon() {
  if (finished_) return;
  if (conn_ == nullptr) {
    finished_ = true;
    drain_cb_ = nullptr;
    return;
  }
  if (!head_sent_) {
    log_error("http: a handler dropped its Response without end(); answering 500");
    headers_.clear();
    has_user_content_length_ = user_transfer_encoding_ = user_date_ = false;
    status_ = 500;
    end({});
    return;
  }
  log_error("http: a handler dropped its Response in the middle of the body; closing");
  finished_ = true;
  drain_cb_ = nullptr;
  conn_->abort();
}

}  // namespace herd::http::detail
