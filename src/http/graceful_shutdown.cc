#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "herd/base/log.h"
#include "herd/http/server.h"
#include "herd/loop/detail/life_token.h"
#include "herd/loop/signal.h"
#include "herd/loop/timer.h"

namespace herd::http {

struct GracefulShutdown::Impl {
  Impl(EventLoop& l, Server& s, std::chrono::milliseconds f)
      : loop(l), server(s), force_after(f), sigint(l), sigterm(l), force(l) {}

  void begin(const char* reason) {
    if (begun) {
      log_warn("{} while closing; still waiting for requests in flight", reason);
      return;
    }
    begun = true;
    log_info("{}: closing the server (forced exit in {} ms)", reason, force_after.count());
    // Unreferenced: it bounds the wait but does not make the loop wait for it.
    force.unref();
    force.start(
        [this] {
          log_error("graceful shutdown took longer than {} ms; exiting", force_after.count());
          // Not exit(): static destructors would run under the loop's feet.
          ::_exit(1);
        },
        static_cast<std::uint64_t>(force_after.count()));
    // The server may finish closing after this object is gone (destroyed by its owner).
    server.close([this, life = life.watch()] {
      if (life.expired()) return;
      force.stop();
      sigint.stop();
      sigterm.stop();
      log_info("server closed");
    });
  }

  EventLoop& loop;
  Server& server;
  std::chrono::milliseconds force_after;
  Signal sigint;
  Signal sigterm;
  Timer force;
  bool begun = false;
  herd::detail::LifeToken life;
};

GracefulShutdown::GracefulShutdown(EventLoop& loop, Server& server,
                                   std::chrono::milliseconds force_after)
    : impl_(std::make_unique<Impl>(loop, server, force_after)) {
  Impl* impl = impl_.get();
  for (auto [sig, handle] : {std::pair{SIGINT, &impl->sigint}, {SIGTERM, &impl->sigterm}}) {
    auto status = handle->start(
        sig, [impl](int signum) { impl->begin(signum == SIGINT ? "SIGINT" : "SIGTERM"); });
    if (!status) {
      log_error("graceful shutdown: watching {}: {}", ::strsignal(sig), status.error().message());
    }
    // Like Node's signal listeners: watching a signal does not keep the loop alive.
    handle->unref();
  }
}

GracefulShutdown::~GracefulShutdown() = default;

void GracefulShutdown::begin(const char* reason) { impl_->begin(reason); }

}  // namespace herd::http
