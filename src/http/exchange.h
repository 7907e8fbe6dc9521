// detail::Exchange: the answer to one request, shared by the handler's Response and the
// connection's queue of answers (responses go out in request order).
//
// The exchange formats the response: the head (status line, the handler's headers, Date,
// framing, Connection) goes out with the first body bytes in one write; a streamed body is
// chunk-encoded unless the handler set Content-Length (HTTP/1.0 clients get the bytes as they are,
// delimited by the close). The connection decides where bytes go: straight to the socket when
// this exchange is at the front of the queue, else into `out_` until its turn.
//
// An exchange outlives its connection when the handler keeps the Response: the connection then
// detaches it (conn_ = nullptr) and everything the handler does is dropped.
//
// Threads: the loop thread of its connection only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace herd::http::detail {

class Connection;

class Exchange {
 public:
  Exchange() = default;
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  // --- the Response API (see herd/http/response.h) -------------------------------------------
  void set_status(int code);
  // replace: remove earlier headers of that name first (set_header); else append (add_header).
  void set_header(std::string_view name, std::string_view value, bool replace);
  void end(std::string_view body);
  bool write(std::string_view chunk);
  void on_drain(std::function<void()> cb);
  bool finished() const { return finished_; }
  bool connected() const { return conn_ != nullptr || completed_; }
  // The Response went away without end(): 500 if nothing was sent yet, else the connection is
  // closed (a truncated body must not look complete).
  void abandon();

  // --- for the connection ----------------------------------------------------------------------
  // Prepares a fresh or recycled exchange for a request. `must_close`: the request asked for the
  // connection to end (HTTP/1.0 without keep-alive, Connection: close, an upgrade).
  void begin(Connection* conn, bool head_request, bool http10, bool must_close);
  // Answers with `status` and an empty body, dropping whatever the handler set (for the errors
  // the server answers itself). The connection closes after it.
  void answer_error(int status);
  // Cuts the link to the connection; `completed`: the response went out whole.
  void detach(bool completed);

 private:
  friend class Connection;

  void append_head(std::string& out, std::uint64_t body_size, bool streaming);
  void append_chunk(std::string& out, std::string_view data) const;
  void clear();

  Connection* conn_ = nullptr;
  int status_ = 200;
  std::string headers_;  // the handler's headers, formatted "Name: value\r\n"
  std::string out_;      // bytes waiting for this exchange's turn on the connection
  // Where end() and write() format their bytes; kept (with its capacity) across the requests a
  // recycled exchange serves, so a response costs no allocation.
  std::string buf_;
  std::function<void()> drain_cb_;
  std::uint64_t content_length_ = 0;  // of the body, when known (framing by Content-Length)
  std::uint64_t body_sent_ = 0;
  std::uint64_t user_content_length_ = 0;
  bool has_user_content_length_ = false;
  bool user_transfer_encoding_ = false;
  bool user_date_ = false;
  bool user_close_ = false;    // the handler set "Connection: close"
  bool head_request_ = false;  // HEAD: no body bytes, ever
  bool http10_ = false;
  bool must_close_ = false;  // the request (or an error) ends the connection after this answer
  bool head_sent_ = false;
  std::uint64_t started_ns_ = 0;  // when the handler got it, while herd wants latencies
  bool finished_ = false;
  bool completed_ = false;  // went out whole, then left the connection's queue
  bool no_body_ = false;    // HEAD, 1xx, 204 or 304: nothing after the head
  bool chunked_ = false;
  bool framed_by_length_ = false;
  bool close_ = false;       // this answer carries Connection: close; the connection ends after it
  bool want_drain_ = false;  // write() returned false: on_drain is owed
};

}  // namespace herd::http::detail
