// http::Request: one parsed HTTP/1.x request, as the server hands it to the handler.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace herd::http {

struct Header {
  std::string name;   // as received
  std::string value;  // leading and trailing white space removed
};

class Request {
 public:
  std::string_view method() const { return method_; }
  // The request target as received ("/encrypt?text=hi").
  std::string_view target() const { return target_; }
  // The target up to '?', and after it ("" when absent).
  std::string_view path() const;
  std::string_view query() const;
  // The percent-decoded value of query parameter `name` ('+' is a space), if present.
  std::optional<std::string> query_param(std::string_view name) const;

  int version_major() const { return major_; }
  int version_minor() const { return minor_; }

  const std::vector<Header>& headers() const { return headers_; }
  // The first header named `name` (case-insensitive).
  std::optional<std::string_view> header(std::string_view name) const;

  // The whole body, when the server buffers bodies (the default; see ServerOptions).
  const std::string& body() const { return body_; }

  // Whether the connection stays open after this exchange (HTTP/1.1 unless "Connection: close";
  // HTTP/1.0 only with "Connection: keep-alive").
  bool keep_alive() const { return keep_alive_; }

  // For the server's parser.
  std::string method_;
  std::string target_;
  int major_ = 1;
  int minor_ = 1;
  std::vector<Header> headers_;
  std::string body_;
  bool keep_alive_ = true;
};

}  // namespace herd::http
