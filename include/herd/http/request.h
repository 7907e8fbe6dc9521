// http::Request: one parsed HTTP/1.x request, as the server hands it to the handler.
//
// The handler gets it by const reference, valid during the call only: the server reuses one
// Request (and its buffers) for every request of a connection. Copy what a later answer needs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace herd::http {

namespace detail {
class RequestParser;
}  // namespace detail

struct Header {
  std::string name;   // as received
  std::string value;  // leading and trailing white space removed
};

class Request {
 public:
  // "GET", "POST", ... (llhttp's spelling of the method, always upper case).
  std::string_view method() const { return method_; }
  // The request target as received ("/encrypt?text=hi").
  std::string_view target() const { return target_; }
  // The target up to '?', and after it ("" when absent). No percent-decoding.
  std::string_view path() const;
  std::string_view query() const;
  // The percent-decoded value of the first query parameter `name` ('+' is a space), if present.
  // A parameter without '=' has the value "".
  std::optional<std::string> query_param(std::string_view name) const;

  int version_major() const { return major_; }
  int version_minor() const { return minor_; }

  // Every header of the request in the order received (trailers of a chunked body are not
  // included).
  const std::vector<Header>& headers() const { return headers_; }
  // The value of the first header named `name` (case-insensitive).
  std::optional<std::string_view> header(std::string_view name) const;

  // The whole body: the server buffers bodies, up to ServerOptions::max_body_bytes (413 beyond),
  // and calls the handler once the request is complete.
  const std::string& body() const { return body_; }

  // Whether the client asked to keep the connection open after this exchange (HTTP/1.1 unless
  // "Connection: close"; HTTP/1.0 only with "Connection: keep-alive"; never after an Upgrade
  // request). The server may still close it (max_requests_per_connection, a graceful close).
  bool keep_alive() const { return keep_alive_; }

 private:
  friend class detail::RequestParser;

  std::string method_;
  std::string target_;
  int major_ = 1;
  int minor_ = 1;
  std::vector<Header> headers_;
  std::string body_;
  bool keep_alive_ = true;
};

}  // namespace herd::http
