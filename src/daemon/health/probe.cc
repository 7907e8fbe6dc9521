#include "daemon/health/probe.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstring>

#include "app/app_spec.h"
#include "daemon/instance_host.h"
#include "daemon/spawn.h"
#include "herd/net/address.h"
#include "herd/net/stream.h"

namespace herd::manager {
namespace {

std::uint64_t mono_us() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

std::string duration_text(std::uint64_t ms) {
  if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  return fmt::format("{}ms", ms);
}

// "connect: Connection refused": the reason without the address the caller already knows.
std::string reason_of(std::string_view what, const Error& e) {
  return fmt::format("{}: {}", what, e.code() != 0 ? std::strerror(e.code()) : e.message());
}

}  // namespace

Probe::Probe(InstanceHost& host, const HealthCheck& check)
    : host_(host), check_(check), timeout_(host.loop()) {}

Probe::~Probe() {
  kill_child();
  // Destroying a stream outside its callbacks drops its pending callbacks unrun (stream.h).
}

void Probe::run(const ProbeTarget& target, Done done) {
  closed_.reset();  // not inside any of its callbacks: this runs from the monitor's timer
  done_ = std::move(done);
  busy_ = true;
  started_us_ = mono_us();
  timeout_.start(
      [this] {
        kill_child();
        finish(false, fmt::format("timed out after {}", duration_text(check_.timeout_ms)));
      },
      check_.timeout_ms);
  if (check_.kind == HealthCheck::Kind::kExec) {
    run_exec(target);
  } else {
    run_connect(target);
  }
}

void Probe::run_connect(const ProbeTarget& target) {
  if (target.port <= 0) {
    // Deferred: `done` never runs from inside run().
    host_.loop().next_tick([this] {
      finish(false, "no port to probe (give health_check.port, or PORT in the app's env)");
    });
    return;
  }
  std::string host = check_.host;
  std::string text = host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, target.port)
                                                         : fmt::format("{}:{}", host, target.port);
  auto address = Address::parse(text);
  if (!address) {
    std::string why = fmt::format("bad address {}: {}", text, address.error().message());
    host_.loop().next_tick([this, why] { finish(false, why); });
    return;
  }
  stream_ = std::make_unique<Stream>(host_.loop());
  status_ = HttpStatusLine();
  Status s = stream_->connect(*address, [this](Status st) {
    if (!st) {
      finish(false, reason_of("connect", st.error()));
      return;
    }
    on_connected();
  });
  if (!s) {
    std::string why = reason_of("connect", s.error());
    host_.loop().next_tick([this, why] { finish(false, why); });
  }
}

void Probe::on_connected() {
  if (check_.kind == HealthCheck::Kind::kTcp) {
    finish(true, "connected");
    return;
  }
  std::string host =
      check_.host.find(':') != std::string::npos ? "[" + check_.host + "]" : check_.host;
  stream_->write(fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: herd-health-check\r\n"
                             "Accept: */*\r\nConnection: close\r\n\r\n",
                             check_.path, host),
                 [this](Status st) {
                   if (!st && busy_) finish(false, reason_of("send", st.error()));
                 });
  stream_->read_start([this](Result<std::string_view> chunk) {
    if (!busy_) return;
    if (!chunk) {
      finish(false, reason_of("read", chunk.error()));
      return;
    }
    auto state = chunk->empty() ? status_.finish() : status_.feed(*chunk);
    if (state == HttpStatusLine::State::kMore) return;
    if (state == HttpStatusLine::State::kFailed) {
      finish(false, status_.error());
      return;
    }
    int code = status_.code();
    finish(code >= 200 && code < 400, fmt::format("HTTP {}", code));
  });
}

void Probe::run_exec(const ProbeTarget& target) {
  auto argv = split_command_line(check_.command);
  SpawnOptions o;
  if (argv) o.argv = std::move(*argv);
  o.cwd = target.cwd;
  o.env = target.env;
  o.env.push_back(fmt::format("HERD_PID={}", target.pid));
  auto pid = o.argv.empty() ? Result<pid_t>(fail(EINVAL, "an empty command")) : spawn(o);
  if (!pid) {
    std::string why = pid.error().message();
    host_.loop().next_tick([this, why] { finish(false, why); });
    return;
  }
  child_ = *pid;
  host_.watch_child(child_, [this](int wstatus) {
    child_ = 0;
    if (!busy_) return;
    if (WIFEXITED(wstatus)) {
      int code = WEXITSTATUS(wstatus);
      finish(code == 0, fmt::format("exit code {}", code));
    } else {
      finish(false, fmt::format("killed by {}", signal_name(WTERMSIG(wstatus))));
    }
  });
}

void Probe::kill_child() {
  if (child_ <= 0) return;
  ::kill(-child_, SIGKILL);
  // The supervisor reaps it and, unwatched, drops its status.
  host_.unwatch_child(child_);
  child_ = 0;
}

void Probe::drop_connection() {
  if (!stream_) return;
  stream_->read_stop();
  // Maybe inside one of its callbacks: close now, destroy at the next run (or with the Probe).
  if (!stream_->is_closing()) stream_->close();
  closed_ = std::move(stream_);
}

void Probe::finish(bool ok, std::string detail) {
  if (!busy_) return;
  busy_ = false;
  timeout_.stop();
  drop_connection();
  ProbeResult r{ok, std::move(detail), mono_us() - started_us_};
  auto done = std::move(done_);
  done_ = nullptr;
  if (done) done(std::move(r));
}

}  // namespace herd::manager
