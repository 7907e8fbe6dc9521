#include "metrics/metrics_listener.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <cerrno>
#include <charconv>

#include "herd/base/log.h"
#include "herd/loop/timer.h"
#include "herd/net/address.h"
#include "herd/net/stream.h"
#include "metrics/prometheus_text.h"

namespace herd::manager {
namespace {

constexpr std::size_t kMaxHeader = 8 * 1024;
constexpr std::uint64_t kRequestTimeoutMs = 10'000;
constexpr std::size_t kMaxConnections = 32;

std::string response(int code, const char* reason, std::string_view content_type,
                     std::string_view body, bool head, std::string_view extra_headers = {}) {
  std::string out = fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{}Connection: close\r\n\r\n",
      code, reason, content_type, body.size(), extra_headers);
  if (!head) out += body;
  return out;
}

std::string plain(int code, const char* reason, std::string_view message, bool head = false,
                  std::string_view extra_headers = {}) {
  return response(code, reason, "text/plain; charset=utf-8", std::string(message) + "\n", head,
                  extra_headers);
}

}  // namespace

Result<std::uint16_t> parse_metrics_port(std::string_view text, std::string_view what) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value > 65535) {
    return fail(EINVAL, fmt::format("{} takes a port number 0..65535 (0: any free port), not '{}'",
                                    what, text));
  }
  return static_cast<std::uint16_t>(value);
}

Result<std::string> parse_metrics_addr(std::string_view text, std::string_view what) {
  std::string host(text);
  if (host == "localhost") return std::string("127.0.0.1");
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  in6_addr buf{};
  bool v4 = host.find(':') == std::string::npos;
  if (host.empty() || ::inet_pton(v4 ? AF_INET : AF_INET6, host.c_str(), &buf) != 1) {
    return fail(EINVAL, fmt::format("{} takes an IP address such as 127.0.0.1, 0.0.0.0, ::1 or "
                                    "::, not '{}'",
                                    what, text));
  }
  return host;
}

// One client: reads one request head, answers it, closes.
class MetricsListener::Connection {
 public:
  Connection(MetricsListener& owner, Fd fd)
      : owner_(owner), stream_(owner.loop_, std::move(fd)), timer_(owner.loop_) {}

  void start() {
    stream_.unref();
    timer_.unref();
    timer_.start([this] { finish(); }, kRequestTimeoutMs);
    stream_.read_start([this](Result<std::string_view> chunk) {
      if (!chunk || chunk->empty()) {
        finish();  // the peer hung up (or failed) before a whole request
        return;
      }
      on_data(*chunk);
    });
  }

  // Closes the connection; the owner forgets (destroys) it in the close phase.
  void finish() {
    if (stream_.is_closing()) return;
    timer_.stop();
    stream_.close([this] { owner_.forget(this); });
  }

 private:
  void on_data(std::string_view data) {
    head_.append(data);
    std::size_t end = head_.find("\r\n\r\n");
    if (end == std::string::npos) end = head_.find("\n\n");
    if (end == std::string::npos) {
      if (head_.size() > kMaxHeader) {
        answer(plain(431, "Request Header Fields Too Large", "request headers over 8 KiB"));
      }
      return;
    }
    answer(respond(head_.substr(0, head_.find('\n'))));
  }

  std::string respond(std::string line) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    // METHOD SP TARGET SP HTTP/1.x
    std::size_t sp1 = line.find(' ');
    std::size_t sp2 = sp1 == std::string::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string::npos || line.compare(sp2 + 1, 7, "HTTP/1.") != 0 ||
        line.size() != sp2 + 9) {
      return plain(400, "Bad Request", "not an HTTP/1.x request");
    }
    std::string method = line.substr(0, sp1);
    std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    bool head = method == "HEAD";
    if (method != "GET" && !head) {
      return plain(405, "Method Not Allowed", "only GET and HEAD are served", false,
                   "Allow: GET, HEAD\r\n");
    }
    std::string path = target.substr(0, target.find('?'));
    if (path == "/healthz") return plain(200, "OK", "ok", head);
    if (path == "/readyz") {
      std::string missing = owner_.not_ready_ ? owner_.not_ready_() : std::string();
      if (missing.empty()) return plain(200, "OK", "ok", head);
      return plain(503, "Service Unavailable", missing, head);
    }
    if (path != "/metrics") {
      return plain(404, "Not Found", "herd serves its metrics at /metrics", head);
    }
    return response(200, "OK", kPrometheusContentType, owner_.render_(), head);
  }

  void answer(std::string text) {
    stream_.read_stop();
    timer_.stop();
    stream_.write(std::move(text));
    stream_.shutdown([this](Status) { finish(); });
  }

  MetricsListener& owner_;
  Stream stream_;
  Timer timer_;
  std::string head_;
};

MetricsListener::MetricsListener(EventLoop& loop, std::function<std::string()> render,
                                 std::function<std::string()> not_ready)
    : loop_(loop), render_(std::move(render)), not_ready_(std::move(not_ready)), listener_(loop) {}

MetricsListener::~MetricsListener() = default;

Status MetricsListener::listen(const MetricsEndpoint& endpoint) {
  bool v6 = endpoint.host.find(':') != std::string::npos;
  auto addr = Address::parse(v6 ? fmt::format("[{}]:{}", endpoint.host, endpoint.port)
                                : fmt::format("{}:{}", endpoint.host, endpoint.port));
  if (!addr) return std::unexpected(addr.error());
  if (Status s = listener_.listen(*addr, [this](Fd fd) { on_connection(std::move(fd)); }); !s) {
    return s;
  }
  listener_.unref();
  auto bound = listener_.local_address();
  address_ = bound ? bound->to_string() : addr->to_string();
  return {};
}

void MetricsListener::close() {
  if (!address_.empty() && !listener_.is_closing()) listener_.close();
  for (auto& [raw, conn] : connections_) conn->finish();
}

void MetricsListener::on_connection(Fd fd) {
  if (connections_.size() >= kMaxConnections) return;  // dropped: the Fd closes here
  auto conn = std::make_unique<Connection>(*this, std::move(fd));
  Connection* raw = conn.get();
  connections_.emplace(raw, std::move(conn));
  raw->start();
}

void MetricsListener::forget(Connection* c) { connections_.erase(c); }

}  // namespace herd::manager
