#include "herd/cluster/channel.h"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "herd/base/log.h"

namespace herd {
namespace {

using nlohmann::json;

constexpr std::size_t kHeaderSize = 8;
constexpr std::size_t kReadChunk = 64 * 1024;
// Reads per readiness event: a peer that sends without pause must not starve the loop.
constexpr int kMaxReadsPerEvent = 16;
constexpr int kMaxIov = 64;

void put_u32(char* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

std::uint32_t get_u32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<std::uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

}  // namespace

// --- Responder ---------------------------------------------------------------------------------

Responder::Responder(Responder&& other) noexcept
    : channel_(std::move(other.channel_)), id_(std::exchange(other.id_, 0)) {}

Responder& Responder::operator=(Responder&& other) noexcept {
  if (this != &other) {
    if (id_ != 0) fail("no reply");
    channel_ = std::move(other.channel_);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

Responder::~Responder() {
  if (id_ != 0) fail("no reply");
}

bool Responder::reply(json body, std::vector<Fd> fds) {
  std::uint64_t id = std::exchange(id_, 0);
  auto channel = channel_.lock();
  if (id == 0 || !channel) return false;
  return (*channel)->send_reply(id, std::move(body), std::move(fds), nullptr);
}

bool Responder::fail(std::string error) {
  std::uint64_t id = std::exchange(id_, 0);
  auto channel = channel_.lock();
  if (id == 0 || !channel) return false;
  return (*channel)->send_reply(id, json(), {}, error.c_str());
}

bool Responder::fail(const Error& error) {
  std::uint64_t id = std::exchange(id_, 0);
  auto channel = channel_.lock();
  if (id == 0 || !channel) return false;
  return (*channel)->send_reply(id, json(), {}, error.context().c_str(), error.code());
}

// --- Channel -----------------------------------------------------------------------------------

Result<std::pair<Fd, Fd>> Channel::socketpair() { return Fd::socketpair(AF_UNIX, SOCK_STREAM); }

Channel::Channel(EventLoop& loop, Fd socket)
    : Handle(loop), fd_(std::move(socket)), self_(std::make_shared<Channel*>(this)) {
  if (fd_) {
    if (auto s = set_nonblocking(fd_.get(), true); !s) log_warn("channel: {}", s.error().message());
    watcher_.emplace(loop, fd_.get());
    watcher_->unref();  // the channel itself counts as the live handle
    watcher_->set_callback([this](std::uint32_t events) { on_events(events); });
  } else {
    open_ = false;
  }
}

Channel::~Channel() {
  destroy_slot().mark_destroyed();
  self_.reset();
  if (watcher_) watcher_->stop();
  deactivate();
}

Status Channel::start() {
  loop().check_thread("Channel::start called off the loop thread");
  if (!open_ || is_closing() || !watcher_) return fail(EINVAL, "channel: the channel is over");
  started_ = true;
  reading_ = true;
  update_interest();
  activate();
  return {};
}

void Channel::pause_reading() {
  if (!reading_) return;
  reading_ = false;
  update_interest();
}

void Channel::resume_reading() {
  if (reading_ || !started_ || !open_) return;
  reading_ = true;
  update_interest();
}

void Channel::update_interest() {
  if (!watcher_ || !fd_) return;
  std::uint32_t want = 0;
  if (open_ && reading_) want |= kReadable;
  if (!out_.empty() && !write_shut_) want |= kWritable;
  if (auto s = watcher_->start(want); !s) log_error("channel: {}", s.error().message());
}

Status Channel::send(json body, std::vector<Fd> fds) {
  json envelope = json::object();
  envelope["m"] = std::move(body);
  return enqueue(envelope, std::move(fds));
}

Status Channel::request(json body, ReplyCallback cb, std::vector<Fd> fds) {
  std::uint64_t id = next_id_++;
  json envelope = json::object();
  envelope["q"] = id;
  envelope["m"] = std::move(body);
  if (auto s = enqueue(envelope, std::move(fds)); !s) return s;
  pending_.emplace(id, std::move(cb));
  return {};
}

bool Channel::send_reply(std::uint64_t id, json body, std::vector<Fd> fds, const char* error,
                         int code) {
  json envelope = json::object();
  envelope["r"] = id;
  if (error != nullptr) {
    envelope["e"] = error;
    if (code != EREMOTEIO) envelope["c"] = code;
  } else {
    envelope["m"] = std::move(body);
  }
  return enqueue(envelope, std::move(fds)).has_value();
}

Status Channel::enqueue(const json& envelope, std::vector<Fd> fds) {
  if (!open_ || ending_ || !fd_) return fail(EPIPE, "channel send: the channel is over");
  if (fds.size() > kMaxFds) {
    return fail(EMSGSIZE,
                fmt::format("channel send: {} descriptors (at most {})", fds.size(), kMaxFds));
  }
  std::string payload = envelope.dump(-1, ' ', false, json::error_handler_t::replace);
  if (payload.size() > kMaxPayload) {
    return fail(EMSGSIZE,
                fmt::format("channel send: {} bytes (at most {})", payload.size(), kMaxPayload));
  }
  OutFrame frame;
  frame.bytes.resize(kHeaderSize);
  put_u32(frame.bytes.data(), static_cast<std::uint32_t>(payload.size()));
  put_u32(frame.bytes.data() + 4, static_cast<std::uint32_t>(fds.size()));
  frame.bytes += payload;
  frame.fds = std::move(fds);
  queued_bytes_ += frame.bytes.size();
  bool was_empty = out_.empty();
  out_.push_back(std::move(frame));
  if (backed_up()) need_drain_ = true;
  if (was_empty) flush();
  return {};
}

void Channel::flush() {
  while (!out_.empty() && fd_ && !write_shut_) {
    // Descriptors go with the first byte of their frame, so a frame with descriptors starts a
    // sendmsg of its own; the frames before it and without any are gathered into one writev.
    iovec iov[kMaxIov];
    int n = 0;
    OutFrame& front = out_.front();
    bool with_fds = front.offset == 0 && !front.fds.empty();
    for (std::size_t i = 0; i < out_.size() && n < kMaxIov; ++i) {
      OutFrame& f = out_[i];
      if (i > 0 && !f.fds.empty()) break;
      iov[n].iov_base = f.bytes.data() + f.offset;
      iov[n].iov_len = f.bytes.size() - f.offset;
      ++n;
      if (with_fds) break;
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<std::size_t>(n);
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)];
    if (with_fds) {
      std::size_t bytes = sizeof(int) * front.fds.size();
      msg.msg_control = control;
      msg.msg_controllen = CMSG_SPACE(bytes);
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(bytes);
      int* out = reinterpret_cast<int*>(CMSG_DATA(c));
      for (std::size_t i = 0; i < front.fds.size(); ++i) out[i] = front.fds[i].get();
    }
    ssize_t sent;
    do {
      sent = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      Error error = Error::from_errno("channel send");
      // The failure reaches the owner through the read side (EOF or the same error), so the end
      // callback runs once, from the loop, and never from inside send().
      out_.clear();
      queued_bytes_ = 0;
      write_shut_ = true;
      log_debug("{}", error.message());
      break;
    }
    // The kernel holds its own references now; ours go.
    if (with_fds) front.fds.clear();
    auto left = static_cast<std::size_t>(sent);
    queued_bytes_ -= left;
    while (left > 0) {
      OutFrame& f = out_.front();
      std::size_t rest = f.bytes.size() - f.offset;
      if (left >= rest) {
        left -= rest;
        out_.pop_front();
      } else {
        f.offset += left;
        left = 0;
      }
    }
  }
  if (out_.empty() && ending_ && !write_shut_ && fd_) {
    ::shutdown(fd_.get(), SHUT_WR);
    write_shut_ = true;
  }
  if (out_.empty() && need_drain_ && open_) {
    need_drain_ = false;
    if (drain_cb_) {
      // Deferred: never run a callback from inside send().
      loop().defer([weak = std::weak_ptr<Channel*>(self_)] {
        if (auto self = weak.lock(); self && (*self)->drain_cb_) {
          (*self)->call((*self)->drain_cb_, "Channel drain");
        }
      });
    }
  }
  update_interest();
}

void Channel::end() {
  if (!open_ || ending_) return;
  ending_ = true;
  flush();
}

void Channel::on_events(std::uint32_t events) {
  if ((events & kWritable) && !out_.empty()) flush();
  // read_some() returns false when the channel is gone; nothing follows it here either way.
  if ((events & (kReadable | kHangup | kIoError)) && reading_) read_some();
}

bool Channel::read_some() {
  for (int round = 0; round < kMaxReadsPerEvent && reading_ && open_ && fd_; ++round) {
    char buf[kReadChunk];
    iovec iov{buf, sizeof(buf)};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n;
    do {
      n = ::recvmsg(fd_.get(), &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    // Descriptors first: they may come with the last bytes before an error or EOF.
    if (n >= 0) {
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        const int* fds = reinterpret_cast<const int*>(CMSG_DATA(c));
        for (std::size_t i = 0; i < count; ++i) in_fds_.emplace_back(fds[i]);
      }
    }
    if (n < 0) return finish(fail_errno("channel receive"));
    if (msg.msg_flags & MSG_CTRUNC) {
      return finish(
          fail(EPROTO, "channel receive: descriptors were cut off (too many in a frame)"));
    }
    if (n == 0) {
      if (!in_.empty())
        return finish(fail(EPROTO, "channel: the peer closed in the middle of a frame"));
      return finish({});
    }
    in_.append(buf, static_cast<std::size_t>(n));
    if (!parse_frames()) return false;
  }
  return true;
}

bool Channel::parse_frames() {
  std::size_t at = 0;
  detail::DestroyGuard guard(destroy_slot());
  while (open_ && reading_ && in_.size() - at >= kHeaderSize) {
    std::uint32_t length = get_u32(in_.data() + at);
    std::uint32_t nfds = get_u32(in_.data() + at + 4);
    if (length > kMaxPayload || nfds > kMaxFds || nfds > in_fds_.size()) {
      in_.erase(0, at);
      return finish(fail(EPROTO, fmt::format("channel: malformed frame header (length {}, {} "
                                             "descriptors, {} received)",
                                             length, nfds, in_fds_.size())));
    }
    if (in_.size() - at - kHeaderSize < length) break;
    std::vector<Fd> fds;
    for (std::uint32_t i = 0; i < nfds; ++i) {
      fds.push_back(std::move(in_fds_.front()));
      in_fds_.pop_front();
    }
    std::string payload = in_.substr(at + kHeaderSize, length);
    at += kHeaderSize + length;
    bool ok = deliver(payload, std::move(fds));
    if (guard.destroyed()) return false;
    if (!ok) break;
  }
  in_.erase(0, at);
  return true;
}

// Runs the callback in `slot` (moved out while it runs, so it may replace itself) with
// move-only arguments. False when the callback destroyed the channel.
template <class Fn, class... Args>
bool Channel::call(Fn& slot, const char* what, Args&&... args) {
  Fn cb = std::move(slot);
  detail::DestroyGuard guard(destroy_slot());
  loop().invoke(what, [&] { cb(std::forward<Args>(args)...); });
  if (guard.destroyed()) return false;
  if (!slot) slot = std::move(cb);
  return true;
}

// Returns false when the frame ended the channel (a protocol error) or destroyed it.
bool Channel::deliver(std::string_view payload, std::vector<Fd> fds) {
  json envelope = json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (envelope.is_discarded() || !envelope.is_object()) {
    finish(fail(EPROTO, "channel: a frame is not a JSON object"));
    return false;
  }
  auto m = envelope.find("m");
  json body = m != envelope.end() ? std::move(*m) : json();
  if (auto r = envelope.find("r"); r != envelope.end() && r->is_number_unsigned()) {
    auto it = pending_.find(r->get<std::uint64_t>());
    if (it == pending_.end()) return true;  // an answer nobody waits for (it timed out, say)
    ReplyCallback cb = std::move(it->second);
    pending_.erase(it);
    if (auto e = envelope.find("e"); e != envelope.end()) {
      std::string text = e->is_string() ? e->get<std::string>() : e->dump();
      int code = envelope.value("c", EREMOTEIO);
      if (code <= 0) code = EREMOTEIO;
      Error error = code == EREMOTEIO ? Error(code, "channel request refused by the peer: " + text)
                                      : Error(code, text);
      loop().invoke("Channel reply", [&] { cb(std::unexpected(error)); });
    } else {
      loop().invoke("Channel reply", [&] { cb(ChannelMessage{std::move(body), std::move(fds)}); });
    }
    return true;
  }
  if (auto q = envelope.find("q"); q != envelope.end() && q->is_number_unsigned()) {
    Responder responder(self_, q->get<std::uint64_t>());
    if (!request_cb_) {
      responder.fail("no request handler");
      return true;
    }
    return call(request_cb_, "Channel request", ChannelMessage{std::move(body), std::move(fds)},
                std::move(responder));
  }
  if (!message_cb_) return true;
  return call(message_cb_, "Channel message", ChannelMessage{std::move(body), std::move(fds)});
}

bool Channel::finish(Status why) {
  if (!open_) return true;
  open_ = false;
  reading_ = false;
  in_fds_.clear();
  in_.clear();
  update_interest();
  deactivate();
  detail::DestroyGuard guard(destroy_slot());
  fail_pending(ECONNRESET, "the channel ended", false);
  if (guard.destroyed()) return false;
  // call() guards the end callback itself.
  return !end_cb_ || call(end_cb_, "Channel end", std::move(why));
}

void Channel::fail_pending(int code, const char* why, bool as_ticks) {
  // A callback may destroy the channel: nothing below touches `this` after the move.
  EventLoop& l = loop();
  auto pending = std::move(pending_);
  pending_.clear();
  for (auto& [id, cb] : pending) {
    Error error(code, fmt::format("channel request {}: {}", id, why));
    if (as_ticks) {
      l.next_tick([cb = std::move(cb), error]() mutable { cb(std::unexpected(error)); });
    } else {
      l.invoke("Channel reply", [&] { cb(std::unexpected(error)); });
    }
  }
}

void Channel::on_close_requested() {
  open_ = false;
  reading_ = false;
  if (watcher_) watcher_->stop();
  out_.clear();
  queued_bytes_ = 0;
  in_fds_.clear();
  fd_.reset();
  deactivate();
  fail_pending(ECANCELED, "the channel was closed", true);
}

}  // namespace herd
