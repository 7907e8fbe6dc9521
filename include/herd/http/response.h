// http::Response: the handler's side of one exchange. A move-only handle: the handler may answer
// at once, or keep the Response (move it into a callback) and answer later, from the same loop
// thread. Responses on one connection go out in request order (pipelining), whatever order the
// handler finishes them in.
//
// If the client goes away first, the handle stays safe to use: writes are dropped and
// connected() turns false. A Response destroyed without end() answers 500 (and logs it) so that
// no client waits forever.
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
  Response() = default;
  explicit Response(std::shared_ptr<detail::Exchange> exchange);
  ~Response();
  Response(Response&&) noexcept = default;
  Response& operator=(Response&&) noexcept;
  Response(const Response&) = delete;
  Response& operator=(const Response&) = delete;

  // Before the head is sent: the status (default 200) and headers. The server adds Date,
  // Content-Length or Transfer-Encoding, and Connection as needed; a handler's own
  // Content-Length is honoured (and must match what it sends).
  void set_status(int code);
  void set_header(std::string_view name, std::string_view value);

  // Sends the whole response with `body` (Content-Length). For HEAD, the body is not sent but
  // Content-Length still says its size.
  void end(std::string_view body = {});

  // Streaming: the first write() sends the head (chunked unless Content-Length was set); each
  // write returns false when the connection's write queue is above its high-water mark: wait
  // for on_drain before writing more. end() finishes the stream.
  bool write(std::string_view chunk);
  void on_drain(std::function<void()> cb);

  bool finished() const;
  // False once the client disconnected or the server closed the connection.
  bool connected() const;

 private:
  std::shared_ptr<detail::Exchange> exchange_;
};

// The reason phrase for a status code ("Not Found"), "Unknown" when it has none.
std::string_view status_text(int code);

}  // namespace herd::http
