#include "daemon/control_server.h"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "herd/base/log.h"
#include "protocol/control_request.h"

namespace herd::manager {
namespace {

constexpr std::size_t kMaxLine = 4 * 1024 * 1024;    // a request line (an ecosystem's apps)
constexpr std::size_t kMaxUnsent = 4 * 1024 * 1024;  // per client, before lines are dropped

}  // namespace

ControlConnection::ControlConnection(ControlServer& server, Fd fd)
    : server_(server), stream_(std::make_unique<Stream>(server.loop(), std::move(fd))) {
  stream_->set_high_water_mark(kMaxUnsent);
}

ControlConnection::~ControlConnection() = default;

void ControlConnection::start() {
  stream_->read_start([self = weak_from_this()](Result<std::string_view> chunk) {
    auto c = self.lock();
    if (!c) return;
    if (!chunk || chunk->empty()) {
      c->close();
      return;
    }
    c->on_data(*chunk);
  });
}

void ControlConnection::on_data(std::string_view data) {
  buffer_.append(data);
  std::size_t nl;
  while (open_ && (nl = buffer_.find('\n')) != std::string::npos) {
    std::string line = buffer_.substr(0, nl);
    buffer_.erase(0, nl + 1);
    if (line.empty()) continue;
    auto request = read_control_request(line);
    if (!request) {
      reply_error(request.error().id, request.error().error);
      continue;
    }
    nlohmann::json id = request->id;
    std::string_view verb = request->verb->name;
    // A handler's bug fails its request, never the daemon and every app with it.
    try {
      server_.handler_(std::move(*request), shared_from_this());
    } catch (const std::exception& e) {
      log_error("control socket: the \"{}\" request failed: {}", verb, e.what());
      reply_error(id, {ErrorCode::kInternal,
                       fmt::format("the daemon failed this request ({}); see herd.log", e.what())});
    } catch (...) {
      log_error("control socket: the \"{}\" request failed", verb);
      reply_error(id, {ErrorCode::kInternal, "the daemon failed this request; see herd.log"});
    }
  }
  if (buffer_.size() > kMaxLine) {
    reply_error(nullptr, {ErrorCode::kBadRequest, "request line longer than 4 MiB"});
    close();
  }
}

bool ControlConnection::send(const nlohmann::json& message) {
  if (!open_) return false;
  if (stream_->write_queue_size() > kMaxUnsent) return false;
  stream_->write(message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  return true;
}

void ControlConnection::reply_ok(const nlohmann::json& id, nlohmann::json result) {
  nlohmann::json reply = {{"id", id}, {"ok", true}, {"result", std::move(result)}};
  add_notice(reply);
  send(reply);
}

void ControlConnection::reply_ok_text(const nlohmann::json& id, std::string&& result_text) {
  if (!open_) return;
  if (stream_->write_queue_size() > kMaxUnsent) return;
  // The members in the order reply_ok's object has them (sorted: id, notice, ok, result), so
  // the client's fast path (Client::call_text) reads both alike. Three writes, the result moved
  // into the stream's queue as it is (megabytes for a jlist): nothing copied.
  nlohmann::json head = {{"id", id}, {"ok", true}};
  add_notice(head);
  std::string line = head.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line.pop_back();  // the closing brace
  line += ",\"result\":";
  stream_->write(std::move(line));
  stream_->write(std::move(result_text));
  stream_->write(std::string_view("}\n"));
}

void ControlConnection::reply_error(const nlohmann::json& id, const ErrorReply& error) {
  nlohmann::json reply = {{"id", id}, {"ok", false}, {"error", error}};
  add_notice(reply);
  send(reply);
}

void ControlConnection::add_notice(nlohmann::json& reply) {
  if (server_.notice_.empty() || !open_) return;
  reply["notice"] = std::move(server_.notice_);
  server_.notice_.clear();
}

void ControlConnection::close() {
  if (!open_) return;
  open_ = false;
  auto callbacks = std::move(on_close_);
  on_close_.clear();
  for (auto& cb : callbacks) cb();
  // Replies already queued still go out: shut down after them, then close.
  auto self = shared_from_this();
  stream_->read_stop();
  stream_->shutdown(
      [self](Status) { self->stream_->close([self] { self->server_.forget(self.get()); }); });
}

ControlServer::ControlServer(EventLoop& loop, Handler handler)
    : loop_(loop), handler_(std::move(handler)), listener_(loop) {}

ControlServer::~ControlServer() {
  if (!path_.empty()) unlink_if_same(path_, path_id_);
}

Status ControlServer::listen(const std::string& path) {
  auto addr = Address::parse("unix:" + path);
  if (!addr) return std::unexpected(addr.error());
  // Created 0600 from the start: no moment where another user could connect. (bind() creates
  // the socket file with 0777 & ~umask, so the umask must also take away the owner's x bit.)
  mode_t old = ::umask(team_gid_ ? 0117 : 0177);
  Status s = listener_.listen(*addr, [this](Fd fd) { on_connection(std::move(fd)); });
  ::umask(old);
  if (!s) return s;
  path_ = path;
  path_id_ = file_id(path);
  return {};
}

Status ControlServer::adopt(Fd listening, const std::string& path) {
  if (Status s =
          listener_.adopt(std::move(listening), [this](Fd fd) { on_connection(std::move(fd)); });
      !s) {
    return s;
  }
  path_ = path;
  path_id_ = file_id(path);
  return {};
}

std::shared_ptr<ControlConnection> ControlServer::adopt_connection(Fd fd) {
  auto c = std::make_shared<ControlConnection>(*this, std::move(fd));
  connections_[c.get()] = c;
  c->start();
  return c;
}

void ControlServer::stop_accepting() {
  if (!listener_.is_closing()) listener_.close();
  if (!path_.empty()) unlink_if_same(path_, path_id_);
  path_.clear();
}

namespace {

// Whether the peer of `fd` (with credentials `cred`) is in group `gid`: its primary group, or
// one of its supplementary groups (SO_PEERGROUPS, as they were when it connected).
bool peer_in_group(int fd, const ucred& cred, gid_t gid) {
  if (cred.gid == gid) return true;
  gid_t groups[256];
  socklen_t size = sizeof(groups);
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &size) < 0) return false;
  for (socklen_t i = 0; i < size / sizeof(gid_t); ++i) {
    if (groups[i] == gid) return true;
  }
  return false;
}

}  // namespace

void ControlServer::on_connection(Fd fd) {
  ucred cred{};
  socklen_t len = sizeof(cred);
  bool allowed = ::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
                 (cred.uid == ::geteuid() || cred.uid == 0 ||
                  (team_gid_ && peer_in_group(fd.get(), cred, *team_gid_)));
  auto c = std::make_shared<ControlConnection>(*this, std::move(fd));
  connections_[c.get()] = c;
  if (!allowed) {
    log_warn("control socket: refused uid {} (pid {})", cred.uid, cred.pid);
    c->reply_error(nullptr, {ErrorCode::kPermission,
                             fmt::format("this herd daemon belongs to uid {}; uid {} may not "
                                         "control it",
                                         ::geteuid(), cred.uid)});
    c->close();
    return;
  }
  c->start();
}

void ControlServer::forget(ControlConnection* c) { connections_.erase(c); }

void ControlServer::close_connections() {
  // A copy: a connection leaves connections_ (forget) once its stream has closed.
  auto all = connections_;
  for (auto& [raw, c] : all) c->close();
}

}  // namespace herd::manager
