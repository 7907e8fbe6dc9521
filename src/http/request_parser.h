// detail::RequestParser: llhttp in request mode, filling one reusable http::Request.
//
// The connection feeds it bytes with execute(); it stops after each event it must act on (the
// end of a header block that announces a body or an expectation, the end of a message, an
// error) and says how many bytes it consumed, so the caller keeps the rest. The Request is
// reused from message to message: next() clears it but keeps the capacity of its strings and of
// its header entries, so that a connection in its steady state parses without allocating.
//
// Limits are enforced here, where the bytes are seen: a header block (request line and headers)
// longer than max_header_bytes is 431 (414 while the request target is still being read), and
// the parser never holds more than that much of it; a body longer than max_body_bytes is 413
// (at once when Content-Length says so). llhttp runs strict: none of its lenient flags is set,
// so conflicting Content-Length / Transfer-Encoding, bare LF line endings, obs-fold and the like
// are errors (400). On top of llhttp, like Node: a missing (or repeated) Host on HTTP/1.1 is 400,
// an HTTP major version other than 1 is 505, CONNECT and the HTTP/2 preface are 400.
//
// Threads: none of its own; used on the connection's loop thread.
#pragma once

#include <llhttp.h>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "herd/http/request.h"

namespace herd::http::detail {

class RequestParser {
 public:
  enum class Event {
    kNeedMore,         // nothing to act on yet: call again with the bytes not consumed (if any)
    kHeadersComplete,  // the header block ended and a body follows
    kMessageComplete,  // request() holds a whole request
    kError,            // error_status() says which answer; the parser is done for good
  };

  struct Limits {
    std::size_t max_header_bytes = 16 * 1024;
    std::size_t max_body_bytes = 1024 * 1024;
  };

  explicit RequestParser(Limits limits);
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  // Parses a prefix of `data`, up to and including the first event. `*consumed` is the number
  // of bytes used (all of them for kNeedMore; for kError, where parsing stopped).
  Event execute(std::string_view data, std::size_t* consumed);

  // After kMessageComplete: clears the request for the next message, keeping its buffers.
  void next();

  Request& request() { return request_; }
  const Request& request() const { return request_; }

  // A message has begun (its first byte was parsed) and has not completed.
  bool in_message() const { return in_message_; }
  // How many messages have begun, this one included (tells one message from the next).
  std::uint64_t messages_begun() const { return messages_begun_; }
  // The current message's header block is complete (its body, if any, is being read).
  bool headers_done() const { return headers_done_; }

  // Facts about the current message, valid from the end of its header block.
  bool is_head() const { return is_head_; }
  bool keep_alive() const { return request_.keep_alive_; }
  bool upgrade() const { return upgrade_; }
  bool has_body() const { return has_body_; }
  // "Expect: 100-continue" on HTTP/1.1, and any other expectation (Node answers 417).
  bool expects_continue() const { return expect_continue_; }
  bool bad_expectation() const { return bad_expectation_; }

  // The rest of the current message's body is parsed but not stored (still counted against
  // max_body_bytes).
  void discard_body() { discard_body_ = true; }

  // After kError: the status to answer (400, 413, 414, 431, 505) and llhttp's reason or ours.
  int error_status() const { return error_status_; }
  std::string_view error_reason() const { return error_reason_; }

 private:
  static int on_message_begin(llhttp_t* p);
  static int on_url(llhttp_t* p, const char* at, std::size_t len);
  static int on_url_complete(llhttp_t* p);
  static int on_header_field(llhttp_t* p, const char* at, std::size_t len);
  static int on_header_field_complete(llhttp_t* p);
  static int on_header_value(llhttp_t* p, const char* at, std::size_t len);
  static int on_header_value_complete(llhttp_t* p);
  static int on_headers_complete(llhttp_t* p);
  static int on_body(llhttp_t* p, const char* at, std::size_t len);
  static int on_message_complete(llhttp_t* p);
  static int on_chunk_extension(llhttp_t* p, const char* at, std::size_t len);
  static int on_chunk_header(llhttp_t* p);
  static int on_chunk_complete(llhttp_t* p);
  static const llhttp_settings_t* settings();
  // Checks the bytes at [at, chunk_end_) against the CRLF still owed after chunk data.
  bool check_chunk_crlf(const char* at);

  int fail(int status, const char* reason);
  int check_headers();
  Header& new_header();
  Event set_error_from_llhttp(llhttp_errno_t err);

  llhttp_t parser_;
  Limits limits_;
  Request request_;
  // Header entries of earlier messages, kept for their string capacity.
  std::vector<Header> spare_headers_;
  std::uint64_t messages_begun_ = 0;

  std::size_t header_bytes_ = 0;       // of the current header block
  std::size_t body_bytes_ = 0;         // of the current body
  std::size_t trailer_bytes_ = 0;      // of the current trailer block
  const char* chunk_start_ = nullptr;  // the input of the execute() in progress
  const char* chunk_end_ = nullptr;
  // The last byte other than SP/HTAB of the header bytes before this execute(): a value span
  // at the start of the input continues a fold when it is '\n'.
  char header_tail_ = 0;
  std::size_t chunk_ext_bytes_ = 0;  // extensions of the chunk-size line being read
  int crlf_owed_ = 0;                // bytes of the CRLF after chunk data not yet seen
  int value_spans_ = 0;              // spans of the header value being read
  bool value_at_chunk_end_ = false;  // the last one stopped where the input ended
  int error_status_ = 0;
  const char* error_reason_ = "";
  Event pending_ = Event::kNeedMore;  // the event a callback paused for
  bool in_message_ = false;
  bool url_done_ = false;
  bool headers_done_ = false;
  bool in_field_ = false;  // the last header callback was a field (name) span
  bool is_head_ = false;
  bool upgrade_ = false;
  bool has_body_ = false;
  bool host_seen_ = false;
  bool host_repeated_ = false;
  bool expect_continue_ = false;
  bool bad_expectation_ = false;
  bool discard_body_ = false;
  bool dead_ = false;
};

}  // namespace herd::http::detail
