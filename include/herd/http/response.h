// http::Response: the handler's side of one exchange. A move-only handle: the handler may answer
// at once, or keep the Response (move it into a callback) and answer later, from the same loop
// thread. Responses on one connection go out in request order (pipelining), whatever order the
// handler finishes them in: an answer that is not yet at the front waits in memory.
//
// If the client goes away first, the handle stays safe to use: writes are dropped (write()
// returns false) and connected() turns false. A Response destroyed without end() answers 500
// (and logs it) so that no client waits forever; if part of a streamed body was sent already,
// the connection is closed instead, so that the truncated body cannot pass for a whole one.
//
// Threads: the loop thread of the server that made it.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace herd::http {

namespace detail {
class Exchange;
}  // namespace detail

class Response {
 public:
  // An empty handle: every call is a no-op, finished() is true and connected() false.
  Response() = default;
  explicit Response(std::shared_ptr<detail::Exchange> exchange);
  ~Response();
  Response(Response&&) noexcept = default;
  // Assigning over a handle that was not ended abandons it (as the destructor does).
  Response& operator=(Response&&) noexcept;
  Response(const Response&) = delete;
  Response& operator=(const Response&) = delete;

  // Before the head is sent: the status (default 200) and headers. set_header replaces earlier
  // headers of the same name (case-insensitive); add_header adds another (Set-Cookie). Invalid
  // names and values (not a token; CR, LF or NUL in the value) are logged and ignored, and so are
  // calls after the head went out. The server adds Date (unless set), Content-Length or
  // Transfer-Encoding, and Connection (a handler's "Connection: close" is honoured: the
  // connection ends after this response). A handler's own Content-Length is honoured and must
  // match what it sends; if it does not, the connection is closed after the response.
  void set_status(int code);
  void set_header(std::string_view name, std::string_view value);
  void add_header(std::string_view name, std::string_view value);

  // Sends the whole response with `body` (Content-Length), head and body in one write. For HEAD,
  // 1xx, 204 and 304 no body is sent (for HEAD, Content-Length still says the body's size).
  // Calling end() twice is logged and ignored.
  void end(std::string_view body = {});

  // Streaming: the first write() sends the head (chunked unless Content-Length was set; to an
  // HTTP/1.0 client the body is delimited by closing the connection); end() finishes the stream
  // (with an optional last piece). write() returns false when the connection's write queue (or,
  // while earlier responses are still going out, this response's waiting bytes) reached the
  // high-water mark: wait for on_drain before writing more. It also returns false once the client
  // is gone: check connected().
  bool write(std::string_view chunk);
  // `cb` runs (once per false from write()) when writing may go on. Dropped at end() and when
  // the connection closes.
  void on_drain(std::function<void()> cb);

  bool finished() const;
  // False once the client disconnected or the server closed the connection before the response
  // went out whole; after a complete response it stays true.
  bool connected() const;

 private:
  std::shared_ptr<detail::Exchange> exchange_;
};

// The reason phrase for a status code ("Not Found"), "Unknown" when it has none.
std::string_view status_text(int code);

}  // namespace herd::http
