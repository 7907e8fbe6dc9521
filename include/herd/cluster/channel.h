// Channel: messages between two processes over a Unix socketpair, with descriptor passing.
//
// Wire format: each frame is an 8-byte header (payload length and number of descriptors, both
// 32-bit little-endian) followed by the payload, compact JSON text. Descriptors travel as
// SCM_RIGHTS with the frame's first bytes and are handed to the receiver with the frame. A frame
// carries at most kMaxFds descriptors and kMaxPayload bytes.
//
// Kinds of frames, as seen by the user:
//   - messages: send(body, fds) -> the peer's message callback;
//   - requests: request(body, reply_cb) -> the peer's request callback gets a Responder; the
//     answer (or a refusal, as an error text) reaches reply_cb once, matched by an id.
//     Every pending request fails with ECONNRESET when the channel ends, and ECANCELED on close().
//
// Backpressure: send() and request() always queue the frame (unless the channel is over), and
// backed_up() turns true once the queued bytes reach the high-water mark (64 KiB by default);
// the drain callback runs once the queue has emptied after that. pause_reading() stops taking
// frames from the socket, so a peer that sends too much fills the kernel buffer and then its own
// queue: the peer's backed_up() tells it to slow down.
//
// End: when the peer closes its end (or dies), the channel sees EOF at once: the end callback
// runs with success for a clean EOF at a frame boundary, or with the error (EPROTO for a
// malformed frame or a frame cut in the middle, ECONNRESET, ...). After that, sends fail with
// EPIPE. end() closes the sending side once the queue is flushed (the peer sees EOF); close()
// (Handle) drops unsent frames at once.
//
// Active (keeps the loop running) while reading. Callbacks may close or destroy the channel.
// Threads: every method must be called on the loop's thread.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "herd/base/error.h"
#include "herd/base/fd.h"
#include "herd/loop/io_watcher.h"

namespace herd {

struct ChannelMessage {
  nlohmann::json body;
  std::vector<Fd> fds;  // received descriptors (CLOEXEC); the receiver owns them
};

class Channel;

// The answer side of one request. Move-only; answers at most once. If it is destroyed without
// answering, the requester gets an error ("no reply"). Answering after the channel is gone is a
// no-op.
class Responder {
 public:
  Responder() = default;
  Responder(Responder&& other) noexcept;
  Responder& operator=(Responder&& other) noexcept;
  ~Responder();

  // Sends the answer. False if it was already answered or the channel is over.
  bool reply(nlohmann::json body, std::vector<Fd> fds = {});
  // Refuses the request with an error text (the requester's callback gets EREMOTEIO with it).
  bool fail(std::string error);
  // Refuses the request with `error`: the requester gets the same code and context.
  bool fail(const Error& error);

 private:
  friend class Channel;
  Responder(std::weak_ptr<Channel*> channel, std::uint64_t id)
      : channel_(std::move(channel)), id_(id) {}
  std::weak_ptr<Channel*> channel_;
  std::uint64_t id_ = 0;
};

class Channel : public Handle {
 public:
  static constexpr std::size_t kMaxFds = 32;
  static constexpr std::size_t kMaxPayload = 16 * 1024 * 1024;

  using MessageCallback = std::move_only_function<void(ChannelMessage message)>;
  using RequestCallback = std::move_only_function<void(ChannelMessage request, Responder reply)>;
  using ReplyCallback = std::move_only_function<void(Result<ChannelMessage> reply)>;
  using EndCallback = std::move_only_function<void(Status why)>;

  // A connected pair of stream sockets (AF_UNIX, CLOEXEC, NONBLOCK), one end for each process.
  static Result<std::pair<Fd, Fd>> socketpair();

  // Takes ownership of `socket`, one end of a socketpair (made non-blocking here).
  Channel(EventLoop& loop, Fd socket);
  ~Channel();

  void on_message(MessageCallback cb) { message_cb_ = std::move(cb); }
  // Without a request callback, requests are refused ("no request handler").
  void on_request(RequestCallback cb) { request_cb_ = std::move(cb); }
  void on_end(EndCallback cb) { end_cb_ = std::move(cb); }
  void on_drain(Callback cb) { drain_cb_ = std::move(cb); }

  // Starts reading frames. EINVAL once the channel is over; epoll's error otherwise.
  Status start();
  void pause_reading();
  void resume_reading();

  // Queues a message. EPIPE when the channel is over (ended, failed or closed), EMSGSIZE for a
  // payload over kMaxPayload or more than kMaxFds descriptors; the descriptors are closed then.
  Status send(nlohmann::json body, std::vector<Fd> fds = {});
  // Queues a request; `cb` gets the answer, or the error that ended the wait. Errors that are
  // known at once (as for send()) are returned and `cb` is not called.
  Status request(nlohmann::json body, ReplyCallback cb, std::vector<Fd> fds = {});

  // True while the queued bytes are at or above the high-water mark.
  bool backed_up() const { return queued_bytes_ >= high_water_mark_; }
  std::size_t queued_bytes() const { return queued_bytes_; }
  void set_high_water_mark(std::size_t bytes) { high_water_mark_ = bytes; }
  // Closes the sending side once everything queued is sent. Further sends fail with EPIPE.
  void end();
  // False once the peer's EOF or an error was seen, or after close().
  bool is_open() const { return open_; }
  std::size_t pending_requests() const { return pending_.size(); }
  int fd() const { return fd_.get(); }

 protected:
  void on_close_requested() override;

 private:
  friend class Responder;
  struct OutFrame {
    std::string bytes;  // header + payload
    std::vector<Fd> fds;
    std::size_t offset = 0;
  };

  Status enqueue(const nlohmann::json& envelope, std::vector<Fd> fds);
  void on_events(std::uint32_t events);
  // Each returns false when a callback destroyed the channel.
  bool read_some();
  bool parse_frames();
  bool deliver(std::string_view payload, std::vector<Fd> fds);
  template <class Fn, class... Args>
  bool call(Fn& slot, const char* what, Args&&... args);
  void flush();
  void update_interest();
  // Ends the channel (EOF or error) and runs the end callback; false if it destroyed us.
  bool finish(Status why);
  void fail_pending(int code, const char* why, bool as_ticks);
  bool send_reply(std::uint64_t id, nlohmann::json body, std::vector<Fd> fds, const char* error,
                  int code = EREMOTEIO);

  Fd fd_;
  std::optional<IoWatcher> watcher_;
  MessageCallback message_cb_;
  RequestCallback request_cb_;
  EndCallback end_cb_;
  Callback drain_cb_;
  std::deque<OutFrame> out_;
  std::string in_;         // bytes received, not yet parsed
  std::deque<Fd> in_fds_;  // descriptors received, not yet given to a frame
  std::map<std::uint64_t, ReplyCallback> pending_;
  std::uint64_t next_id_ = 1;
  std::size_t queued_bytes_ = 0;
  std::size_t high_water_mark_ = 64 * 1024;
  std::shared_ptr<Channel*> self_;  // Responders hold a weak_ptr to it
  bool started_ = false;
  bool reading_ = false;
  bool open_ = true;     // neither EOF, nor an error, nor close()
  bool ending_ = false;  // end() asked: shut the sending side once flushed
  bool write_shut_ = false;
  bool need_drain_ = false;
};

}  // namespace herd
