// tcp_pump: loopback TCP throughput of one connection on one loop. A server accepts one
// connection and reads and discards; a client writes 64 KiB chunks until 256 MiB are sent. The
// clock covers listen, connect, the transfer and the close, and stops when the server has read
// the last byte. Modelled on libuv's test/benchmark-pump.c.
//
// Flow control is each API's idiomatic one, as a Node program would use it:
//   herd   write_no_copy() until it returns false (64 KiB queued: the high-water mark), then
//          wait for on_drain. The chunk outlives the writes, so, as with libuv, nothing is
//          copied (write() would copy each chunk into the queue).
//   libuv  uv_write() while the stream's write queue is empty (benchmark-pump.c's do_write);
//          the chunk is a buffer that outlives the writes, so libuv copies nothing.
// The server side reads into a 64 KiB buffer on libuv; on herd the stream picks its own.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "herd/loop/event_loop.h"
#include "herd/net/address.h"
#include "herd/net/listener.h"
#include "herd/net/stream.h"
#include "loop_bench.h"

namespace herd_bench {
namespace {

std::size_t tcp_total() { return scaled(kTcpTotal / kTcpChunk) * kTcpChunk; }

// --- herd ----------------------------------------------------------------------------------

struct HerdPump {
  explicit HerdPump(herd::EventLoop& loop) : loop(loop), listener(loop), client(loop) {}

  void start() {
    auto address = herd::Address::parse("127.0.0.1:0");
    check_ok(address, "herd/tcp_pump: parse");
    check_ok(listener.listen(*address, [this](herd::Fd fd) { on_connection(std::move(fd)); }),
             "herd/tcp_pump: listen");
    auto bound = listener.local_address();
    check_ok(bound, "herd/tcp_pump: local_address");
    client.on_drain([this] { pump(); });
    check_ok(client.connect(*bound,
                            [this](herd::Status status) {
                              check_ok(status, "herd/tcp_pump: connect");
                              pump();
                            }),
             "herd/tcp_pump: connect");
  }

  void on_connection(herd::Fd fd) {
    check(!server.has_value(), "herd/tcp_pump: one connection");
    listener.pause();
    server.emplace(loop, std::move(fd));
    server->read_start([this](herd::Result<std::string_view> chunk) {
      check_ok(chunk, "herd/tcp_pump: read");
      check(!chunk->empty(), "herd/tcp_pump: no end of stream before the last byte");
      received += chunk->size();
      if (received >= total) {
        server->close();
        client.close();
        listener.close();
      }
    });
  }

  // Node's pattern: write until write() says the queue is full, then wait for the drain.
  void pump() {
    while (sent < total) {
      sent += chunk.size();
      if (!client.write_no_copy(chunk, {})) return;
    }
  }

  herd::EventLoop& loop;
  herd::Listener listener;
  herd::Stream client;
  std::optional<herd::Stream> server;
  std::string chunk = std::string(kTcpChunk, 'x');
  std::size_t total = tcp_total();
  std::size_t sent = 0;
  std::size_t received = 0;
};

void herd_tcp_pump(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    auto loop = std::make_unique<herd::EventLoop>();
    auto pump = std::make_unique<HerdPump>(*loop);
    state.ResumeTiming();

    pump->start();
    loop->run();

    state.PauseTiming();
    check(pump->received == pump->total, "herd/tcp_pump: every byte arrived");
    pump.reset();
    loop.reset();
    state.ResumeTiming();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * tcp_total()));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * tcp_total() / kTcpChunk));
}

// --- libuv ---------------------------------------------------------------------------------

struct UvPump {
  explicit UvPump(uv_loop_t* loop) : loop(loop), chunk(kTcpChunk, 'x'), read_buffer(kTcpChunk) {}

  void start() {
    sockaddr_in address{};
    check_uv(uv_ip4_addr("127.0.0.1", 0, &address), "uv_ip4_addr");
    check_uv(uv_tcp_init(loop, &listener), "uv_tcp_init");
    listener.data = this;
    check_uv(uv_tcp_bind(&listener, reinterpret_cast<const sockaddr*>(&address), 0), "uv_tcp_bind");
    check_uv(uv_listen(reinterpret_cast<uv_stream_t*>(&listener), 511, &UvPump::on_connection),
             "uv_listen");
    sockaddr_storage bound{};
    int len = sizeof bound;
    check_uv(uv_tcp_getsockname(&listener, reinterpret_cast<sockaddr*>(&bound), &len),
             "uv_tcp_getsockname");
    check_uv(uv_tcp_init(loop, &client), "uv_tcp_init");
    client.data = this;
    connect_req.data = this;
    check_uv(uv_tcp_connect(&connect_req, &client, reinterpret_cast<const sockaddr*>(&bound),
                            &UvPump::on_connect),
             "uv_tcp_connect");
  }

  static void on_connection(uv_stream_t* stream, int status) {
    check_uv(status, "libuv/tcp_pump: connection");
    auto* self = static_cast<UvPump*>(stream->data);
    check_uv(uv_tcp_init(self->loop, &self->server), "uv_tcp_init");
    self->server.data = self;
    auto* server = reinterpret_cast<uv_stream_t*>(&self->server);
    check_uv(uv_accept(stream, server), "uv_accept");
    check_uv(uv_read_start(server, &UvPump::on_alloc, &UvPump::on_read), "uv_read_start");
  }

  static void on_alloc(uv_handle_t* handle, std::size_t, uv_buf_t* buf) {
    auto* self = static_cast<UvPump*>(handle->data);
    *buf = uv_buf_init(self->read_buffer.data(), static_cast<unsigned>(self->read_buffer.size()));
  }

  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t*) {
    auto* self = static_cast<UvPump*>(stream->data);
    if (nread == 0) return;  // EAGAIN
    check_uv(static_cast<int>(nread), "libuv/tcp_pump: read");
    self->received += static_cast<std::size_t>(nread);
    if (self->received >= self->total) {
      uv_close(reinterpret_cast<uv_handle_t*>(&self->server), nullptr);
      uv_close(reinterpret_cast<uv_handle_t*>(&self->client), nullptr);
      uv_close(reinterpret_cast<uv_handle_t*>(&self->listener), nullptr);
    }
  }

  static void on_connect(uv_connect_t* req, int status) {
    check_uv(status, "libuv/tcp_pump: connect");
    static_cast<UvPump*>(req->data)->pump();
  }

  // benchmark-pump.c's do_write: write while nothing is queued in user space.
  void pump() {
    auto* stream = reinterpret_cast<uv_stream_t*>(&client);
    while (sent < total && uv_stream_get_write_queue_size(stream) == 0) {
      uv_write_t* req = take_write_req();
      uv_buf_t buf = uv_buf_init(chunk.data(), static_cast<unsigned>(chunk.size()));
      sent += chunk.size();
      check_uv(uv_write(req, stream, &buf, 1, &UvPump::on_write), "uv_write");
    }
  }

  static void on_write(uv_write_t* req, int status) {
    auto* self = static_cast<UvPump*>(req->data);
    self->free_reqs.push_back(req);
    if (status == UV_ECANCELED) return;
    check_uv(status, "libuv/tcp_pump: write");
    self->pump();
  }

  // Write requests are recycled, as benchmark-pump.c's req_alloc does.
  uv_write_t* take_write_req() {
    if (free_reqs.empty()) {
      all_reqs.push_back(std::make_unique<uv_write_t>());
      free_reqs.push_back(all_reqs.back().get());
    }
    uv_write_t* req = free_reqs.back();
    free_reqs.pop_back();
    req->data = this;
    return req;
  }

  uv_loop_t* loop;
  uv_tcp_t listener;
  uv_tcp_t client;
  uv_tcp_t server;
  uv_connect_t connect_req;
  std::string chunk;
  std::vector<char> read_buffer;
  std::vector<std::unique_ptr<uv_write_t>> all_reqs;
  std::vector<uv_write_t*> free_reqs;
  std::size_t total = tcp_total();
  std::size_t sent = 0;
  std::size_t received = 0;
};

void libuv_tcp_pump(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    uv_loop_t loop;
    check_uv(uv_loop_init(&loop), "uv_loop_init");
    auto pump = std::make_unique<UvPump>(&loop);
    state.ResumeTiming();

    pump->start();
    check_uv(uv_run(&loop, UV_RUN_DEFAULT), "uv_run");

    state.PauseTiming();
    check(pump->received == pump->total, "libuv/tcp_pump: every byte arrived");
    close_uv_loop(&loop);
    pump.reset();
    state.ResumeTiming();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * tcp_total()));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * tcp_total() / kTcpChunk));
}

}  // namespace

LOOP_BENCH(herd_tcp_pump, "herd/tcp_pump");
LOOP_BENCH(libuv_tcp_pump, "libuv/tcp_pump");

}  // namespace herd_bench
