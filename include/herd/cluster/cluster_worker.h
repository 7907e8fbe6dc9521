// cluster::WorkerProcess: the worker's side of a cluster (see herd/cluster.h).
//
// A worker asks the primary for each address it serves; the primary answers with the cluster's
// scheduling: connections passed over the channel (round robin), or a socket to accept from
// (shared, reuseport). Either way the connections reach the callback given to listen(), or the
// http::Server given to serve().
//
// Disconnect (asked by the primary, by SIGTERM, by the primary's channel ending, or by
// disconnect()): the worker stops accepting, closes the servers given to serve() gracefully
// (requests in flight are answered), then closes its channel; the process ends when its loop
// has nothing left to do. SIGINT is left to the primary, which coordinates the stop (the
// terminal sends it to every process of the group).
//
// Threads: every method must be called on the loop's thread.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>

#include "herd/base/error.h"
#include "herd/cluster/channel.h"
#include "herd/cluster/cluster.h"
#include "herd/http/server.h"
#include "herd/loop/event_loop.h"
#include "herd/net/address.h"
#include "herd/net/listener.h"

namespace herd::cluster {

class WorkerProcess {
 public:
  using ListenCallback = std::function<void(Result<Address> address)>;

  explicit WorkerProcess(EventLoop& loop);
  ~WorkerProcess();
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  // Takes the channel the primary passed, tells the primary this worker is online, and watches
  // SIGTERM. EINVAL when this process is not a cluster worker (see is_worker()).
  Status start();

  int id() const;
  Scheduling scheduling() const;

  // Serves `address`: `done` gets the address the cluster listens on (with the port the primary
  // chose for port 0) or the error (the primary's bind error, say); then connections reach
  // `on_connection`.
  void listen(const Address& address, Listener::ConnectionCallback on_connection,
              ListenCallback done);
  // listen() for an HTTP server; the server is also closed gracefully on disconnect. `server`
  // must outlive this object or its close.
  void serve(http::Server& server, const Address& address, ListenCallback done);

  // Messages and requests to and from the primary.
  Status send(nlohmann::json body, std::vector<Fd> fds = {});
  Status request(nlohmann::json body, Channel::ReplyCallback cb);
  void on_message(std::function<void(ChannelMessage message)> cb);
  void on_request(std::function<void(ChannelMessage request, Responder reply)> cb);
  // Runs when the disconnect begins, before the servers close.
  void on_disconnect(std::function<void()> cb);

  // Begins the disconnect (see above); this worker is not restarted.
  void disconnect();
  bool is_disconnecting() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace herd::cluster
