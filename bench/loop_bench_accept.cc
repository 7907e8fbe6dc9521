// multi_accept: 20,000 short loopback TCP connections, 64 connecting at a time, accepted by one
// listener on the same loop (a server's accept path under many short-lived clients; libuv's
// test/benchmark-pound.c and benchmark-multi-accept.c, on one loop). Each client connects and,
// once connected, closes with a reset (SO_LINGER 0, as uv_tcp_close_reset does), then its slot
// starts the next connection; the server wraps each accepted socket in a stream and closes it.
// The clock covers listen, every connect, accept and close, and stops when the last accepted
// connection and the last client are closed.
//
// The reset keeps TIME_WAIT out of it: 20,000 connections per run closed the ordinary way would
// leave as many sockets in TIME_WAIT and, run after run, exhaust the ephemeral ports.
//
//   herd   Listener (accepts up to 64 per readiness event), herd::Stream for both ends.
//   libuv  uv_listen (backlog 511, as herd's), uv_tcp_t for both ends, uv_accept, uv_close.
#include <sys/socket.h>

#include <memory>
#include <optional>
#include <vector>

#include "herd/loop/event_loop.h"
#include "herd/net/address.h"
#include "herd/net/listener.h"
#include "herd/net/stream.h"
#include "loop_bench.h"

namespace herd_bench {
namespace {

void set_linger_zero(int fd) {
  linger l{.l_onoff = 1, .l_linger = 0};
  check(::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l) == 0, "setsockopt SO_LINGER");
}

// --- herd ----------------------------------------------------------------------------------

struct Accepted {
  herd::Stream stream;
};

struct HerdAccept {
  explicit HerdAccept(herd::EventLoop& loop)
      : loop(loop), listener(loop), clients(kConnectsInFlight) {}

  void start() {
    auto address = herd::Address::parse("127.0.0.1:0");
    check_ok(address, "herd/multi_accept: parse");
    check_ok(listener.listen(*address, [this](herd::Fd fd) { on_connection(std::move(fd)); }),
             "herd/multi_accept: listen");
    auto bound = listener.local_address();
    check_ok(bound, "herd/multi_accept: local_address");
    server_address = *bound;
    for (std::size_t i = 0; i < clients.size() && started < total; ++i) connect(i);
  }

  void on_connection(herd::Fd fd) {
    // One allocation per connection on both sides (libuv: the uv_tcp_t), freed in the close
    // callback.
    auto* server = new Accepted{herd::Stream(loop, std::move(fd))};
    server->stream.close([server] { delete server; });
    ++accepted;
    maybe_done();
  }

  void connect(std::size_t slot) {
    ++started;
    clients[slot].emplace(loop);
    check_ok(
        clients[slot]->connect(server_address,
                               [this, slot](herd::Status status) {
                                 check_ok(status, "herd/multi_accept: connect");
                                 set_linger_zero(clients[slot]->fd());
                                 clients[slot]->close([this, slot] { on_client_closed(slot); });
                               }),
        "herd/multi_accept: connect");
  }

  void on_client_closed(std::size_t slot) {
    ++closed;
    clients[slot].reset();  // a handle may be destroyed in its close callback
    if (started < total) {
      connect(slot);
    } else {
      maybe_done();
    }
  }

  void maybe_done() {
    if (accepted == total && closed == total) listener.close();
  }

  herd::EventLoop& loop;
  herd::Listener listener;
  herd::Address server_address;
  std::vector<std::optional<herd::Stream>> clients;
  std::size_t total = scaled(kAcceptedConnections);
  std::size_t started = 0;
  std::size_t accepted = 0;
  std::size_t closed = 0;
};

void herd_multi_accept(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    auto loop = std::make_unique<herd::EventLoop>();
    auto bench = std::make_unique<HerdAccept>(*loop);
    state.ResumeTiming();

    bench->start();
    loop->run();

    state.PauseTiming();
    check(bench->accepted == bench->total, "herd/multi_accept: every connection was accepted");
    bench.reset();
    loop.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(
      static_cast<std::int64_t>(state.iterations() * scaled(kAcceptedConnections)));
}

// --- libuv ---------------------------------------------------------------------------------

struct UvAccept {
  struct Client {
    uv_tcp_t tcp;
    uv_connect_t req;
    UvAccept* owner;
  };

  explicit UvAccept(uv_loop_t* loop) : loop(loop), clients(kConnectsInFlight) {}

  void start() {
    sockaddr_in address{};
    check_uv(uv_ip4_addr("127.0.0.1", 0, &address), "uv_ip4_addr");
    check_uv(uv_tcp_init(loop, &listener), "uv_tcp_init");
    listener.data = this;
    check_uv(uv_tcp_bind(&listener, reinterpret_cast<const sockaddr*>(&address), 0), "uv_tcp_bind");
    check_uv(uv_listen(reinterpret_cast<uv_stream_t*>(&listener), 511, &UvAccept::on_connection),
             "uv_listen");
    int len = sizeof bound;
    check_uv(uv_tcp_getsockname(&listener, reinterpret_cast<sockaddr*>(&bound), &len),
             "uv_tcp_getsockname");
    for (std::size_t i = 0; i < clients.size() && started < total; ++i) connect(&clients[i]);
  }

  static void on_connection(uv_stream_t* stream, int status) {
    check_uv(status, "libuv/multi_accept: connection");
    auto* self = static_cast<UvAccept*>(stream->data);
    auto* server = new uv_tcp_t;
    check_uv(uv_tcp_init(self->loop, server), "uv_tcp_init");
    check_uv(uv_accept(stream, reinterpret_cast<uv_stream_t*>(server)), "uv_accept");
    uv_close(reinterpret_cast<uv_handle_t*>(server),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
    ++self->accepted;
    self->maybe_done();
  }

  void connect(Client* c) {
    ++started;
    c->owner = this;
    check_uv(uv_tcp_init(loop, &c->tcp), "uv_tcp_init");
    c->tcp.data = c;
    c->req.data = c;
    check_uv(uv_tcp_connect(&c->req, &c->tcp, reinterpret_cast<const sockaddr*>(&bound),
                            &UvAccept::on_connect),
             "uv_tcp_connect");
  }

  static void on_connect(uv_connect_t* req, int status) {
    check_uv(status, "libuv/multi_accept: connect");
    auto* c = static_cast<Client*>(req->data);
    check_uv(uv_tcp_close_reset(&c->tcp, &UvAccept::on_client_closed), "uv_tcp_close_reset");
  }

  static void on_client_closed(uv_handle_t* handle) {
    auto* c = static_cast<Client*>(handle->data);
    UvAccept* self = c->owner;
    ++self->closed;
    if (self->started < self->total) {
      self->connect(c);
    } else {
      self->maybe_done();
    }
  }

  void maybe_done() {
    if (accepted == total && closed == total) {
      uv_close(reinterpret_cast<uv_handle_t*>(&listener), nullptr);
    }
  }

  uv_loop_t* loop;
  uv_tcp_t listener;
  sockaddr_storage bound{};
  std::vector<Client> clients;
  std::size_t total = scaled(kAcceptedConnections);
  std::size_t started = 0;
  std::size_t accepted = 0;
  std::size_t closed = 0;
};

void libuv_multi_accept(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    uv_loop_t loop;
    check_uv(uv_loop_init(&loop), "uv_loop_init");
    auto bench = std::make_unique<UvAccept>(&loop);
    state.ResumeTiming();

    bench->start();
    check_uv(uv_run(&loop, UV_RUN_DEFAULT), "uv_run");

    state.PauseTiming();
    check(bench->accepted == bench->total, "libuv/multi_accept: every connection was accepted");
    close_uv_loop(&loop);
    bench.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(
      static_cast<std::int64_t>(state.iterations() * scaled(kAcceptedConnections)));
}

}  // namespace

LOOP_BENCH(herd_multi_accept, "herd/multi_accept");
LOOP_BENCH(libuv_multi_accept, "libuv/multi_accept");

}  // namespace herd_bench
