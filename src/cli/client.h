// Client: the CLI's end of the control socket. Blocking and simple: one request, one reply
// (or a stream of events for `logs`). Starts the daemon when none answers, as PM2 does.
#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "daemon/home.h"
#include "daemon/home_lock.h"
#include "herd/base/error.h"
#include "herd/base/fd.h"
#include "protocol/error_code.h"
#include "protocol/requests.h"

namespace herd::cli {

class Client {
 public:
  explicit Client(manager::Home home) : home_(std::move(home)) {}

  // Connects to the daemon; when none runs and `start_daemon`, starts one (`herd daemon` in its
  // own session, output to herd.log) and waits for it to answer (at most 10 s). Errors say
  // what to do ("the daemon did not start; see ~/.herd/herd.log: ...").
  //
  // Never a second daemon for a home whose lock (home_lock.h) a live process holds without
  // answering: it waits for that process's socket (10 s for a keeper, which starts a daemon
  // by itself; 5 s for a `herd runtime` or anything else). A keeper (or anything but a runtime)
  // that lets go meanwhile ended with its daemon (`herd kill`): a daemon is started. A runtime
  // that lets go has exited: ESRCH, nothing started. Still held at the end: EBUSY naming the
  // pid and its command.
  Status connect(bool start_daemon);
  bool daemon_started() const { return started_; }

  // Sends `request` for `verb` (protocol/requests.h) and returns the reply's "result", or its
  // "error" as the daemon sent it; a failure of the client itself (write, read, a reply that is
  // not JSON) is an ErrorReply of code kClient (client_error).
  using CallResult = std::expected<nlohmann::json, manager::ErrorReply>;
  CallResult call(manager::Verb verb, const manager::Request& request = manager::EmptyRequest{});
  // call(), with the result handed to `sink` as the JSON text the daemon sent, not parsed, in
  // pieces as they arrive (jlist printed as it is: at 1,000 instances its 3 MB parsed, or only
  // gathered in one string, cost more than all else). The pieces joined are the result's text.
  // On an error nothing more is handed over; pieces already handed over stay so (the reply
  // broke off mid-line: the daemon went away, or sent a line that does not end as JSON).
  using TextSink = std::function<void(std::string_view)>;
  std::expected<void, manager::ErrorReply> call_text(manager::Verb verb,
                                                     const manager::Request& request,
                                                     const TextSink& sink);
  // Sends a request, then hands every event line to `on_event` until the daemon hangs up or
  // on_event returns false. A daemon that stops before the stream began (`herd kill` meanwhile:
  // it hangs up, or answers E_QUITTING) ends the stream the same way: no error.
  std::expected<void, manager::ErrorReply> stream(
      manager::Verb verb, const manager::Request& request,
      const std::function<bool(const nlohmann::json&)>& on_event);

  // For a caller that waits on several things at once (monit): after call() opened a stream,
  // poll(2) fd() for input, then read_events(true) reads once (without blocking, since poll
  // said so) and returns every complete event line received; read_events(false) only returns
  // those already buffered (call() may have read some along with its reply). An Error with
  // ECONNRESET means the daemon hung up.
  int fd() const { return fd_.get(); }
  // Closes the connection and waits until the daemon's process (the peer of the connection) has
  // exited: true, or `timeout` passed: false. `kill` waits so: the daemon answers before its
  // process is gone, and a command sent in that moment would reach a listening socket whose
  // daemon is about to close it.
  bool close_and_wait_exit(std::chrono::milliseconds timeout);
  Result<std::vector<nlohmann::json>> read_events(bool read_socket);

  const manager::Home& home() const { return home_; }

 private:
  Status try_connect();
  Status spawn_daemon();
  // connect()'s wait while `holder` holds the home without answering: connected, or
  // `start_daemon` set when the home is free for a new daemon, or the error to report.
  Status wait_for_holder(const manager::LockHolder& holder, bool* start_daemon);
  Result<std::string> read_raw_line();
  // Reads what the socket has (blocking until something) onto the end of buffer_.
  Status read_more();
  Result<nlohmann::json> read_line();
  // The next reply line (one with "ok"), skipping the events of an earlier stream.
  Result<nlohmann::json> read_reply();
  // Writes the request line; its id. The Error keeps send's errno (EPIPE: the daemon hung up),
  // or is EILSEQ for a request that is not UTF-8.
  Result<int> write_request(manager::Verb verb, const manager::Request& request);
  // write_request(), its error as the reply a caller hands on.
  std::expected<int, manager::ErrorReply> send_request(manager::Verb verb,
                                                       const manager::Request& request);
  // A reply line's result or error (and its notice said on stderr).
  static CallResult reply_of(nlohmann::json&& reply);

  manager::Home home_;
  Fd fd_;
  std::string buffer_;
  bool started_ = false;
  int next_id_ = 1;
};

// An error of Client itself as an ErrorReply of code kClient, with the message to print: a
// system call's failure names the call and its reason ("connect /x/herd.sock: Permission
// denied"); the errors Client words itself (a daemon that did not start, a socket path too long,
// a reply that is not JSON, a closed connection) are whole sentences, shown without a strerror
// tail.
manager::ErrorReply client_error(const Error& e);

}  // namespace herd::cli
