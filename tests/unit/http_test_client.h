// A test client for the HTTP server: a herd::Stream on the test's own loop that sends raw bytes
// and parses what comes back with llhttp in response mode (status, headers, body, chunked or
// not), so that tests check whole responses without writing an HTTP client by hand. The raw
// bytes are kept too, for the tests that look at exact framing.
#pragma once

#include <llhttp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "herd/http/server.h"
#include "herd/loop/event_loop.h"
#include "herd/net/address.h"
#include "herd/net/stream.h"
#include "support/wait.h"

namespace herd::test {

struct HttpReply {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool keep_alive = true;  // llhttp's verdict: no "Connection: close"

  std::optional<std::string> header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k.size() == name.size() &&
          std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) ==
                   std::tolower(static_cast<unsigned char>(b));
          })) {
        return v;
      }
    }
    return std::nullopt;
  }
};

class HttpTestClient {
 public:
  HttpTestClient(EventLoop& loop, const Address& address) : loop_(loop), stream_(loop) {
    llhttp_settings_init(&settings_);
    settings_.on_header_field = [](llhttp_t* p, const char* at, std::size_t n) {
      auto* c = static_cast<HttpTestClient*>(p->data);
      if (!c->in_field_) c->current_.headers.emplace_back();
      c->in_field_ = true;
      c->current_.headers.back().first.append(at, n);
      return 0;
    };
    settings_.on_header_value = [](llhttp_t* p, const char* at, std::size_t n) {
      auto* c = static_cast<HttpTestClient*>(p->data);
      c->in_field_ = false;
      c->current_.headers.back().second.append(at, n);
      return 0;
    };
    settings_.on_headers_complete = [](llhttp_t* p) {
      auto* c = static_cast<HttpTestClient*>(p->data);
      c->current_.status = p->status_code;
      c->current_.keep_alive = llhttp_should_keep_alive(p) != 0;
      // A final answer to a HEAD request has no body, whatever its head says.
      if (p->status_code >= 200 && !c->head_requests_.empty()) {
        bool head = c->head_requests_.front();
        c->head_requests_.pop_front();
        if (head) return 1;
      }
      return 0;
    };
    settings_.on_body = [](llhttp_t* p, const char* at, std::size_t n) {
      static_cast<HttpTestClient*>(p->data)->current_.body.append(at, n);
      return 0;
    };
    settings_.on_message_complete = [](llhttp_t* p) {
      auto* c = static_cast<HttpTestClient*>(p->data);
      c->replies.push_back(std::move(c->current_));
      c->current_ = HttpReply();
      c->in_field_ = false;
      return 0;
    };
    llhttp_init(&parser_, HTTP_RESPONSE, &settings_);
    parser_.data = this;
    auto status = stream_.connect(address, [this](Status s) {
      if (!s) error = s.error().message();
    });
    if (!status) error = status.error().message();
    // Small writes go out at once (Nagle would hold a second part for the first one's ACK).
    int one = 1;
    ::setsockopt(stream_.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    stream_.read_start([this](Result<std::string_view> chunk) {
      if (!chunk) {
        error = chunk.error().message();
        closed = true;
        return;
      }
      if (chunk->empty()) {
        closed = true;
        llhttp_finish(&parser_);
        // As real clients do once the server has closed its side.
        if (!stream_.is_closing()) stream_.close();
        return;
      }
      raw.append(*chunk);
      if (parse_error.empty()) {
        llhttp_errno_t err = llhttp_execute(&parser_, chunk->data(), chunk->size());
        if (err != HPE_OK) parse_error = llhttp_errno_name(err);
      }
    });
  }
  ~HttpTestClient() {
    if (!stream_.is_closing()) stream_.close();
    // Let the close callback phase pass so the loop holds no pointer into this object.
    loop_.run(RunMode::kNoWait);
  }

  // `head`: the request is HEAD (its answer has no body).
  void send(std::string data, bool head = false) {
    head_requests_.push_back(head);
    stream_.write(std::move(data));
  }
  // More bytes of a request already announced with send().
  void send_more(std::string data) { stream_.write(std::move(data)); }
  void shutdown() { stream_.shutdown(); }
  void close() {
    if (!stream_.is_closing()) stream_.close();
  }
  void read_stop() { stream_.read_stop(); }
  Stream& stream() { return stream_; }

  bool wait_replies(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    return run_until(
               loop_, [&] { return replies.size() >= n || closed || !parse_error.empty(); },
               timeout) &&
           replies.size() >= n;
  }
  bool wait_closed(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    return run_until(
        loop_, [&] { return closed; }, timeout);
  }

  std::vector<HttpReply> replies;
  std::string raw;
  bool closed = false;
  std::string error;
  std::string parse_error;

 private:
  EventLoop& loop_;
  Stream stream_;
  llhttp_settings_t settings_;
  llhttp_t parser_;
  HttpReply current_;
  std::deque<bool> head_requests_;
  bool in_field_ = false;
};

// The first address a server listens on.
inline Address server_address(const http::Server& server) {
  auto addresses = server.local_addresses();
  return addresses.empty() ? Address() : addresses.front();
}

// A loop, a server on 127.0.0.1 (kernel-chosen port) and clients for it. Declare it first in a
// test so that it outlives the clients.
struct HttpHarness {
  EventLoop loop;
  std::unique_ptr<http::Server> server;
  Address address;

  bool start(http::Handler handler, http::ServerOptions options = {}) {
    server = std::make_unique<http::Server>(loop, std::move(handler), std::move(options));
    auto status = server->listen(*Address::parse("127.0.0.1:0"));
    if (!status) return false;
    address = server_address(*server);
    return true;
  }
  std::unique_ptr<HttpTestClient> connect() {
    return std::make_unique<HttpTestClient>(loop, address);
  }
  // Waits until the server has read `n` bytes in all (to cut a request where the test wants).
  bool wait_bytes_in(std::uint64_t n) {
    return run_until(loop, [&] { return server->metrics().bytes_in >= n; }) &&
           server->metrics().bytes_in == n;
  }
  ~HttpHarness() {
    server.reset();
    loop.run(RunMode::kNoWait);
  }
};

}  // namespace herd::test
