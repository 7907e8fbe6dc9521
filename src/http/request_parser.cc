#include "http/request_parser.h"

#include <algorithm>

#include "base/ascii.h"

namespace herd::http::detail {
namespace {

RequestParser* self(llhttp_t* p) { return static_cast<RequestParser*>(p->data); }

using herd::detail::icontains;
using herd::detail::iequals;

// Chunk extensions are not used by anyone herd serves; a line of them is bounded like a header.
constexpr std::size_t kMaxChunkExtensionBytes = 4096;

// tchar (RFC 9110 5.6.2): the characters of a token, such as a header name.
bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

void trim_trailing_space(std::string& s) {
  std::size_t n = s.size();
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) --n;
  s.resize(n);
}

}  // namespace

RequestParser::RequestParser(Limits limits) : limits_(limits) {
  llhttp_init(&parser_, HTTP_REQUEST, settings());
  parser_.data = this;
}

const llhttp_settings_t* RequestParser::settings() {
  static const llhttp_settings_t s = [] {
    llhttp_settings_t v;
    llhttp_settings_init(&v);
    v.on_message_begin = &RequestParser::on_message_begin;
    v.on_url = &RequestParser::on_url;
    v.on_url_complete = &RequestParser::on_url_complete;
    v.on_header_field = &RequestParser::on_header_field;
    v.on_header_field_complete = &RequestParser::on_header_field_complete;
    v.on_header_value = &RequestParser::on_header_value;
    v.on_header_value_complete = &RequestParser::on_header_value_complete;
    v.on_headers_complete = &RequestParser::on_headers_complete;
    v.on_body = &RequestParser::on_body;
    v.on_message_complete = &RequestParser::on_message_complete;
    v.on_chunk_extension_name = &RequestParser::on_chunk_extension;
    v.on_chunk_extension_value = &RequestParser::on_chunk_extension;
    v.on_chunk_header = &RequestParser::on_chunk_header;
    v.on_chunk_complete = &RequestParser::on_chunk_complete;
    return v;
  }();
  return &s;
}

RequestParser::Event RequestParser::execute(std::string_view data, std::size_t* consumed) {
  *consumed = 0;
  if (dead_) return Event::kError;
  std::size_t len = data.size();
  const bool in_header_block = !headers_done_;
  if (in_header_block) {
    // Never hand llhttp more header bytes than the limit allows: the strings it fills stay
    // bounded, and a block of exactly max_header_bytes still passes.
    std::size_t room = limits_.max_header_bytes - header_bytes_;
    if (room == 0 && len > 0) {
      return url_done_ || !in_message_ ? (fail(431, "header block too large"), Event::kError)
                                       : (fail(414, "request target too long"), Event::kError);
    }
    len = std::min(len, room);
  }
  chunk_start_ = data.data();
  chunk_end_ = data.data() + len;
  // The CRLF after a chunk's data, when the data ended with the previous input.
  if (crlf_owed_ > 0 && !check_chunk_crlf(chunk_start_)) return Event::kError;
  llhttp_errno_t err = llhttp_execute(&parser_, data.data(), len);
  std::size_t used = len;
  if (err != HPE_OK) {
    const char* pos = llhttp_get_error_pos(&parser_);
    used = pos != nullptr ? static_cast<std::size_t>(pos - data.data()) : 0;
  }
  *consumed = used;
  if (in_header_block) {
    header_bytes_ += used;
    for (std::size_t i = used; i > 0; --i) {
      if (data[i - 1] != ' ' && data[i - 1] != '\t') {
        header_tail_ = data[i - 1];
        break;
      }
    }
  }
  switch (err) {
    case HPE_OK:
      return Event::kNeedMore;
    case HPE_PAUSED: {
      llhttp_resume(&parser_);
      Event e = pending_;
      pending_ = Event::kNeedMore;
      return e;
    }
    default:
      return set_error_from_llhttp(err);
  }
}

RequestParser::Event RequestParser::set_error_from_llhttp(llhttp_errno_t err) {
  dead_ = true;
  in_message_ = false;
  // One of our callbacks failed the request: fail() has set the status and the reason (llhttp
  // reports it as HPE_USER, or HPE_CB_HEADERS_COMPLETE from on_headers_complete).
  if (error_status_ != 0) return Event::kError;
  error_reason_ = llhttp_get_error_reason(&parser_);
  if (error_reason_ == nullptr) error_reason_ = llhttp_errno_name(err);
  switch (err) {
    case HPE_INVALID_VERSION:
      error_status_ = 505;
      break;
    default:
      // Everything else is a framing or syntax error (also HPE_PAUSED_H2_UPGRADE, the HTTP/2
      // preface, and HPE_PAUSED_UPGRADE: no byte may follow an upgrade request).
      error_status_ = 400;
      break;
  }
  return Event::kError;
}

int RequestParser::fail(int status, const char* reason) {
  error_status_ = status;
  error_reason_ = reason;
  dead_ = true;
  in_message_ = false;
  return HPE_USER;
}

void RequestParser::next() {
  // The header entries go back to the spare list with their capacity.
  for (Header& h : request_.headers_) spare_headers_.push_back(std::move(h));
  request_.headers_.clear();
  request_.method_.clear();
  request_.target_.clear();
  request_.body_.clear();
  request_.major_ = 1;
  request_.minor_ = 1;
  request_.keep_alive_ = true;
  header_bytes_ = 0;
  body_bytes_ = 0;
  trailer_bytes_ = 0;
  value_spans_ = 0;
  in_message_ = false;
  url_done_ = false;
  headers_done_ = false;
  in_field_ = false;
  is_head_ = false;
  upgrade_ = false;
  has_body_ = false;
  host_seen_ = false;
  host_repeated_ = false;
  expect_continue_ = false;
  bad_expectation_ = false;
  discard_body_ = false;
  header_tail_ = 0;
  chunk_ext_bytes_ = 0;
  crlf_owed_ = 0;
}

Header& RequestParser::new_header() {
  if (spare_headers_.empty()) return request_.headers_.emplace_back();
  request_.headers_.push_back(std::move(spare_headers_.back()));
  spare_headers_.pop_back();
  Header& h = request_.headers_.back();
  h.name.clear();
  h.value.clear();
  return h;
}

// --- llhttp callbacks --------------------------------------------------------------------------

int RequestParser::on_message_begin(llhttp_t* p) {
  RequestParser* r = self(p);
  r->in_message_ = true;
  ++r->messages_begun_;
  return 0;
}

int RequestParser::on_url(llhttp_t* p, const char* at, std::size_t len) {
  self(p)->request_.target_.append(at, len);
  return 0;
}

int RequestParser::on_url_complete(llhttp_t* p) {
  self(p)->url_done_ = true;
  return 0;
}

int RequestParser::on_header_field(llhttp_t* p, const char* at, std::size_t len) {
  RequestParser* r = self(p);
  if (r->headers_done_) {
    // Trailers (after a chunked body) are parsed and dropped, but may not grow without bound.
    r->trailer_bytes_ += len;
    if (r->trailer_bytes_ > r->limits_.max_header_bytes) return r->fail(431, "trailers too large");
    return 0;
  }
  // llhttp may deliver one name in several spans (when it straddles two reads).
  if (!r->in_field_) {
    r->new_header();
    r->in_field_ = true;
  }
  r->request_.headers_.back().name.append(at, len);
  return 0;
}

int RequestParser::on_header_field_complete(llhttp_t* p) {
  RequestParser* r = self(p);
  if (r->headers_done_) return 0;
  if (!r->in_field_) r->new_header();  // an empty name never passes llhttp, but be safe
  r->in_field_ = false;
  // A name is a token (RFC 9110 5.1); llhttp 8 lets a space or a tab through.
  if (!std::all_of(r->request_.headers_.back().name.begin(), r->request_.headers_.back().name.end(),
                   is_tchar)) {
    return r->fail(400, "invalid character in a header name");
  }
  return 0;
}

int RequestParser::on_header_value(llhttp_t* p, const char* at, std::size_t len) {
  RequestParser* r = self(p);
  if (r->headers_done_) {
    r->trailer_bytes_ += len;
    if (r->trailer_bytes_ > r->limits_.max_header_bytes) return r->fail(431, "trailers too large");
    return 0;
  }
  // llhttp 8 still accepts obs-fold (a value continued on a line that starts with white space),
  // and shows it only as a second span of the same value. A value's spans are split only where
  // a chunk of input ends, so a span that does not continue one cut there is a fold: 400, as
  // Node 20 and nginx answer.
  if (r->value_spans_ > 0 && !(r->value_at_chunk_end_ && at == r->chunk_start_)) {
    return r->fail(400, "obs-fold header continuation");
  }
  // A fold of an empty first line ("Transfer-Encoding:\r\n chunked") comes as the value's only
  // span: what precedes it, white space aside, is the line end rather than the colon.
  const char* before = at;
  while (before > r->chunk_start_ && (before[-1] == ' ' || before[-1] == '\t')) --before;
  // (An empty value comes as a span of no bytes, placed after its line end: not a fold.)
  if (len > 0 && (before > r->chunk_start_ ? before[-1] : r->header_tail_) == '\n') {
    return r->fail(400, "obs-fold header continuation");
  }
  ++r->value_spans_;
  r->value_at_chunk_end_ = at + len == r->chunk_end_;
  r->request_.headers_.back().value.append(at, len);
  return 0;
}

int RequestParser::on_header_value_complete(llhttp_t* p) {
  RequestParser* r = self(p);
  if (r->headers_done_) return 0;
  r->value_spans_ = 0;
  Header& h = r->request_.headers_.back();
  trim_trailing_space(h.value);
  // The few headers the server itself acts on. Host: HTTP/1.1 requires exactly one.
  if (h.name.size() == 4 && iequals(h.name, "host")) {
    if (r->host_seen_) r->host_repeated_ = true;
    r->host_seen_ = true;
  } else if (h.name.size() == 6 && iequals(h.name, "expect")) {
    // Node's test: /(?:^|\W)100-continue(?:$|\W)/i; anything else is an expectation it fails.
    if (icontains(h.value, "100-continue")) {
      r->expect_continue_ = true;
    } else {
      r->bad_expectation_ = true;
    }
  }
  return 0;
}

int RequestParser::on_headers_complete(llhttp_t* p) {
  RequestParser* r = self(p);
  return r->check_headers();
}

int RequestParser::check_headers() {
  headers_done_ = true;
  request_.major_ = parser_.http_major;
  request_.minor_ = parser_.http_minor;
  auto method = static_cast<llhttp_method_t>(parser_.method);
  request_.method_.assign(llhttp_method_name(method));
  if (method == HTTP_PRI) return fail(400, "HTTP/2 connection preface");
  if (method == HTTP_CONNECT) return fail(400, "CONNECT is not supported");
  if (parser_.http_major != 1) return fail(505, "HTTP version not supported");
  if (parser_.http_minor >= 1 && !host_seen_) return fail(400, "missing Host header");
  if (host_repeated_) return fail(400, "more than one Host header");
  is_head_ = method == HTTP_HEAD;
  upgrade_ = parser_.upgrade != 0;
  // No byte after an upgrade request is HTTP any more: the connection ends after the answer.
  request_.keep_alive_ = llhttp_should_keep_alive(&parser_) != 0 && !upgrade_;
  has_body_ = (parser_.flags & F_CHUNKED) != 0 ||
              ((parser_.flags & F_CONTENT_LENGTH) != 0 && parser_.content_length > 0);
  if ((parser_.flags & F_CHUNKED) == 0 && (parser_.flags & F_CONTENT_LENGTH) != 0 &&
      parser_.content_length > limits_.max_body_bytes) {
    return fail(413, "body larger than max_body_bytes");
  }
  // Expectations are an HTTP/1.1 feature; Node ignores them on 1.0.
  if (parser_.http_minor < 1) expect_continue_ = bad_expectation_ = false;
  if (bad_expectation_) expect_continue_ = false;
  // A pause only where a body follows: after a bodiless header block llhttp would need another
  // execute() (with no bytes) to reach the message's end.
  if (!has_body_) return 0;
  pending_ = Event::kHeadersComplete;
  return HPE_PAUSED;
}

int RequestParser::on_body(llhttp_t* p, const char* at, std::size_t len) {
  RequestParser* r = self(p);
  r->body_bytes_ += len;
  if (r->body_bytes_ > r->limits_.max_body_bytes) {
    return r->fail(413, "body larger than max_body_bytes");
  }
  if (!r->discard_body_) r->request_.body_.append(at, len);
  // The end of a chunk's data: llhttp 8 skips the next two bytes, whatever they are, so check
  // here that they are CRLF (the rest, if this input ends first, at the next execute()).
  if ((p->flags & F_CHUNKED) != 0 && p->content_length == 0) {
    r->crlf_owed_ = 2;
    if (!r->check_chunk_crlf(at + len)) return HPE_USER;
  }
  return 0;
}

bool RequestParser::check_chunk_crlf(const char* at) {
  for (; crlf_owed_ > 0 && at < chunk_end_; ++at, --crlf_owed_) {
    if (*at != (crlf_owed_ == 2 ? '\r' : '\n')) {
      fail(400, "chunk data not followed by CRLF");
      return false;
    }
  }
  return true;
}

int RequestParser::on_chunk_extension(llhttp_t* p, const char*, std::size_t len) {
  RequestParser* r = self(p);
  r->chunk_ext_bytes_ += len;
  if (r->chunk_ext_bytes_ > kMaxChunkExtensionBytes) {
    return r->fail(400, "chunk extensions longer than 4 KiB");
  }
  return 0;
}

int RequestParser::on_chunk_header(llhttp_t* p) {
  self(p)->chunk_ext_bytes_ = 0;
  return 0;
}

int RequestParser::on_chunk_complete(llhttp_t* p) {
  RequestParser* r = self(p);
  r->chunk_ext_bytes_ = 0;
  if (r->crlf_owed_ > 0) return r->fail(400, "chunk data not followed by CRLF");
  return 0;
}

int RequestParser::on_message_complete(llhttp_t* p) {
  RequestParser* r = self(p);
  r->in_message_ = false;
  r->pending_ = Event::kMessageComplete;
  return HPE_PAUSED;
}

}  // namespace herd::http::detail
