// ControlServer: the daemon's end of the control socket ($HERD_HOME/herd.sock).
//
// Newline-delimited JSON both ways (docs/control-protocol.md). Each request is one line, a JSON
// object with "id" and "verb"; each reply is one line with the same "id" and either
// "ok": true and "result", or "ok": false and "error": {"code", "message"}. A streaming verb
// (logs) sends event lines ({"id", "event", ...}) until the client hangs up.
//
// Only the daemon's own user (or root) may connect: the socket file is 0600 and each peer's
// uid is checked with SO_PEERCRED; others get one error line (E_PERMISSION) and are closed.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "daemon/state_file.h"
#include "herd/loop/event_loop.h"
#include "herd/net/listener.h"
#include "herd/net/stream.h"
#include "protocol/control_request.h"

namespace herd::manager {

class ControlServer;

// One client connection. Handlers reply through it, at once or later; if the client is gone by
// then, replies are dropped.
class ControlConnection : public std::enable_shared_from_this<ControlConnection> {
 public:
  ControlConnection(ControlServer& server, Fd fd);
  ~ControlConnection();

  // Sends one JSON line. Returns false if the client is gone or too far behind (more than
  // 4 MiB unread): streams drop lines rather than let a stuck client grow the daemon.
  bool send(const nlohmann::json& message);
  void reply_ok(const nlohmann::json& id, nlohmann::json result);
  // reply_ok with the result already written as JSON text (`result_text` must be one JSON
  // value): the same line, byte for byte, without a tree of it.
  void reply_ok_text(const nlohmann::json& id, std::string&& result_text);
  void reply_error(const nlohmann::json& id, const ErrorReply& error);
  // Runs when the client disconnects (to end a log stream).
  void on_close(std::function<void()> cb) { on_close_.push_back(std::move(cb)); }
  bool open() const { return open_; }
  int fd() const { return stream_->fd(); }
  void close();

 private:
  friend class ControlServer;
  void start();
  void on_data(std::string_view data);
  void add_notice(nlohmann::json& reply);

  ControlServer& server_;
  std::unique_ptr<Stream> stream_;
  std::string buffer_;
  bool open_ = true;
  std::vector<std::function<void()>> on_close_;
};

class ControlServer {
 public:
  // Gets each request that passed the edge (protocol/control_request.h): a verb of the table,
  // its fields checked. Refused lines are answered before they reach it.
  using Handler = std::function<void(ControlRequest request, std::shared_ptr<ControlConnection>)>;

  ControlServer(EventLoop& loop, Handler handler);
  ~ControlServer();

  // Binds `path` with mode 0600 (0660 after allow_group) and starts accepting; a stale socket
  // file is replaced.
  Status listen(const std::string& path);
  // Lets the members of group `gid` control the daemon too (a team home, Home::team_group):
  // a peer whose primary or supplementary groups hold it. Before listen() or adopt().
  void allow_group(gid_t gid) { team_gid_ = gid; }
  EventLoop& loop() { return loop_; }
  // Closes the listening socket (and removes its file); open connections finish normally.
  void stop_accepting();
  // Closes every connection once what is queued for it is sent (ControlConnection::close).
  void close_connections();
  // `herd update` (takeover.h): the listening socket's descriptor, kept across exec; in the new
  // daemon the same socket adopted (connections that queued meanwhile are accepted), and the
  // connection of the client that asked for the update adopted to answer it.
  int listener_fd() const { return listener_.fd(); }
  Status adopt(Fd listening, const std::string& path);
  std::shared_ptr<ControlConnection> adopt_connection(Fd fd);
  // A sentence for people, sent once, as "notice" beside the next reply (the daemon restored
  // apps after a crash, say); the CLI prints it.
  void set_notice(std::string notice) { notice_ = std::move(notice); }

 private:
  friend class ControlConnection;
  void on_connection(Fd fd);
  void forget(ControlConnection* c);

  EventLoop& loop_;
  Handler handler_;
  Listener listener_;
  std::string path_;
  std::optional<FileId> path_id_;  // the socket file bound there: only that one is removed
  std::string notice_;
  std::optional<gid_t> team_gid_;
  std::map<ControlConnection*, std::shared_ptr<ControlConnection>> connections_;
};

}  // namespace herd::manager
