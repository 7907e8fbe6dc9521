// control_fuzz: a libFuzzer target for the control protocol (docs/control-protocol.md), driven
// through the daemon's real dispatch: the edge's parsing and checks (control_request.h), the
// ControlServer's line handling and the Daemon's verbs, against a Supervisor with apps running.
//
// Once, at the first input: a HERD_HOME in a fresh temporary directory and a daemon on it
// (start_daemon_on, daemon.h: the daemon of `herd daemon` without its process setup), serving
// its socket on this process's loop, with two apps started the way the CLI starts them: "web"
// (2 instances) and "worker" (1), each `/bin/sleep 100000` with autorestart off, min_uptime 0
// and kill_timeout 100 ms, so that a verb that stops or restarts them settles in milliseconds.
//
// Each input is a list of request lines, sent on a fresh connection in one write. Every
// non-empty line must get exactly one reply line (an object with "ok", or an "event" line of a
// log stream), then the daemon must still answer `ping`. A line that does not come back within
// kDeadlineMs, a reply that is not a JSON object, a crash, a sanitizer report or an exception
// out of the loop is a finding.
//
// What the harness does not let through (the daemon never sees these lines; the rest of the
// input still goes): verbs that would run commands or processes the fuzzer chose, or end the
// daemon: `start` (any command line, any log path), `resurrect` (dump.json), `kill` and
// `update`; and `scale` to more than kMaxScale instances (a fork per instance). The apps'
// processes are this process's children, so `signal` and `stop` reach nothing else.
//
// State: verbs change the apps (stop, delete, scale, signal...), and every input should meet the
// same daemon: ids 0..2, all online. After an input that sent stop, restart, reload, delete,
// scale or signal, the harness compares `jlist` with the start (names, ids, statuses): the
// instances that are no longer online are restarted (after a `signal`, every instance is sent
// SIGCONT first: a SIGSTOP does not show); when apps or instances were added or deleted, the
// daemon is stopped with `kill` and a new one started with the same two apps. (The other verbs
// only read, or write files in the temporary home: dump.json, the logs.) Forks are what the
// runs cost: about 15 ms each for a process of this size.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/daemon.h"
#include "daemon/home.h"
#include "herd/base/log.h"
#include "herd/loop/event_loop.h"
#include "protocol/control_request.h"

namespace {

using herd::EventLoop;
using herd::RunMode;
using nlohmann::json;
namespace m = herd::manager;

// Far above what any exchange needs (a stop waits at most kill_timeout, 100 ms), far below
// libFuzzer's -timeout.
constexpr std::uint64_t kDeadlineMs = 5000;
constexpr int kMaxScale = 4;

// One line: the harness's own `start`, as the CLI sends it.
const char* const kApps =
    R"({"verb":"start","id":"harness","apps":[)"
    R"({"name":"web","script":"/bin/sleep","args":["100000"],"instances":2,"autorestart":false,)"
    R"("min_uptime":0,"kill_timeout":100},)"
    R"({"name":"worker","script":"/bin/sleep","args":["100000"],"instances":1,)"
    R"("autorestart":false,"min_uptime":0,"kill_timeout":100}]})";

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "control_fuzz: %s\n", why.c_str());
  std::abort();
}

std::uint64_t now_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

// Whether a `scale` count asks for more than kMaxScale instances (or a step of more than that).
bool scale_too_far(const json& req) {
  if (!req.contains("count") || !req["count"].is_string()) return false;
  std::string count = req["count"].get<std::string>();
  std::string_view digits = count;
  if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) digits.remove_prefix(1);
  std::size_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;  // the daemon refuses it
    value = value * 10 + static_cast<std::size_t>(c - '0');
    if (value > kMaxScale) return true;
  }
  return false;
}

class Harness {
 public:
  Harness() {
    if (std::getenv("HERD_LOG_LEVEL") == nullptr) herd::set_log_level(herd::LogLevel::kOff);
    ::signal(SIGPIPE, SIG_IGN);  // as run_daemon: a client gone mid-reply is not fatal
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "herd-control-fuzz-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) die("mkdtemp failed");
    home_.dir = tmpl;
    start_daemon();
  }

  // At exit: ends the apps and removes the temporary home. The daemon is not asked (the loop
  // may depend on statics already destroyed by now): the apps are this thread's children, each
  // the leader of its own process group, killed and reaped here. (They would end with this
  // process anyway, PDEATHSIG, but then as zombies of whatever reaps orphans here.)
  void cleanup() {
    std::FILE* f =
        std::fopen(("/proc/self/task/" + std::to_string(::gettid()) + "/children").c_str(), "r");
    if (f != nullptr) {
      long pid;
      while (std::fscanf(f, "%ld", &pid) == 1) {
        ::kill(static_cast<pid_t>(-pid), SIGKILL);
        ::kill(static_cast<pid_t>(pid), SIGKILL);
        ::waitpid(static_cast<pid_t>(pid), nullptr, 0);
      }
      std::fclose(f);
    }
    std::error_code ec;
    std::filesystem::remove_all(home_.dir, ec);
  }

  void one_input(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    std::string out;
    std::size_t expected = 0;
    bool signalled = false;
    bool changes = false;  // a verb that may change the apps was sent
    for (std::size_t start = 0; start < input.size();) {
      std::size_t nl = input.find('\n', start);
      std::string_view line =
          input.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
      start = nl == std::string_view::npos ? input.size() : nl + 1;
      if (!allowed(line, &signalled, &changes)) continue;
      out.append(line);
      out += '\n';
      if (!line.empty()) ++expected;
    }
    std::vector<json> replies = exchange(out, expected, true);
    for (const json& r : replies) {
      if (!r.is_object() || !r.contains("id"))
        die("a reply is not an object with an id: " + r.dump());
      if (!r.contains("ok") && !r.contains("event"))
        die("a reply has neither ok nor event: " + r.dump());
    }
    if (signalled) {
      // A stopped process looks online: continue them all, and give a signal that ends one
      // time to show (the daemon hears of it through SIGCHLD).
      request(R"({"verb":"signal","id":"harness","signal":"SIGCONT","targets":["all"]})");
      std::uint64_t until = now_ms() + 5;
      while (now_ms() < until) loop_.run(RunMode::kNoWait);
    }
    if (signalled || changes) restore();
  }

 private:
  // Whether the harness sends this line (see the top of the file). The same parser as the
  // daemon's decides what the verb is, so a line refused here would have been that verb there.
  static bool allowed(std::string_view line, bool* signalled, bool* changes) {
    json id;
    auto req = m::parse_control_request(line, &id);
    if (!req) return true;  // the daemon must refuse it too
    const json& verb = (*req)["verb"];
    if (!verb.is_string()) return true;
    std::string v = verb.get<std::string>();
    if (v == "start" || v == "resurrect" || v == "kill" || v == "update") return false;
    if (v == "scale" && scale_too_far(*req)) return false;
    if (v == "signal") *signalled = true;
    if (v == "stop" || v == "restart" || v == "reload" || v == "delete" || v == "scale") {
      *changes = true;
    }
    return true;
  }

  void start_daemon() {
    auto d = m::start_daemon_on(loop_, home_);
    if (!d) die("the daemon did not start: " + d.error().message());
    daemon_ = std::move(*d);
    auto r = request(kApps);
    if (!r.value("ok", false)) die("the apps did not start: " + r.dump());
    // Online once min_uptime (0) has passed, on a later turn of the loop.
    wait_online();
    baseline_ = signature();
    if (baseline_.size() != 3) {
      die("expected 3 instances at the start, got " + std::to_string(baseline_.size()));
    }
  }

  static bool all_online(const std::set<std::string>& instances) {
    for (const std::string& s : instances) {
      if (!s.ends_with("/online")) return false;
    }
    return true;
  }

  void restart_daemon() {
    auto r = request(R"({"verb":"kill","id":"harness"})");
    if (!r.value("ok", false)) die("kill failed: " + r.dump());
    daemon_.reset();
    // Handles closed by the daemon's destruction finish on the loop.
    for (int i = 0; i < 10; ++i) loop_.run(RunMode::kNoWait);
    start_daemon();
  }

  // Each instance as "name/id/status".
  std::set<std::string> signature() {
    auto r = request(R"({"verb":"jlist","id":"harness"})");
    if (!r.value("ok", false) || !r["result"].is_array()) die("jlist failed: " + r.dump());
    std::set<std::string> out;
    for (const json& p : r["result"]) {
      std::string status = "?";
      if (p.contains("pm2_env") && p["pm2_env"].is_object()) {
        status = p["pm2_env"].value("status", "?");
      }
      out.insert(p.value("name", "?") + "/" + std::to_string(p.value("pm_id", -1)) + "/" + status);
    }
    return out;
  }

  // Back to the start: the instances that stopped are restarted (a fork each); when apps or
  // instances were added or deleted, the daemon is replaced.
  void restore() {
    std::set<std::string> now = signature();
    if (now == baseline_) return;
    auto same_instance = [](const std::string& a, const std::string& b) {
      return a.substr(0, a.rfind('/')) == b.substr(0, b.rfind('/'));
    };
    bool same = now.size() == baseline_.size() &&
                std::equal(now.begin(), now.end(), baseline_.begin(), same_instance);
    if (!same) {
      restart_daemon();
      return;
    }
    json ids = json::array();
    for (const std::string& i : now) {
      if (!i.ends_with("/online")) {
        std::string id = i.substr(0, i.rfind('/'));
        ids.push_back(id.substr(id.rfind('/') + 1));
      }
    }
    auto r = request(json{{"verb", "restart"}, {"id", "harness"}, {"targets", ids}}.dump());
    if (!r.value("ok", false)) die("restarting " + ids.dump() + " failed: " + r.dump());
    wait_online();
    if (baseline_ != signature()) restart_daemon();
  }

  void wait_online() {
    std::uint64_t start = now_ms();
    for (;;) {
      std::set<std::string> now = signature();
      if (all_online(now)) return;
      if (now_ms() - start > kDeadlineMs) {
        std::string seen;
        for (const std::string& i : now) seen += " " + i;
        die("the apps did not come online:" + seen);
      }
      loop_.run(RunMode::kNoWait);
    }
  }

  json request(std::string line) {
    auto replies = exchange(line + "\n", 1, false);
    return replies.empty() ? json() : replies.back();
  }

  // Sends `text` on a new connection and runs the loop until `expected` replies have come (log
  // events do not count), then (with `ping`) checks that the daemon still answers.
  std::vector<json> exchange(const std::string& text, std::size_t expected, bool ping) {
    int fd = connect_daemon();
    std::vector<json> replies;
    std::string buffer;
    std::size_t sent = 0;
    std::size_t answered = 0;
    std::uint64_t start = now_ms();
    auto pump = [&](std::size_t want) {
      while (answered < want) {
        if (now_ms() - start > kDeadlineMs) {
          die("no reply after " + std::to_string(kDeadlineMs) + " ms: " + std::to_string(answered) +
              " of " + std::to_string(want) + " lines answered");
        }
        if (sent < text.size()) {
          ssize_t n = ::send(fd, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
          if (n > 0) sent += static_cast<std::size_t>(n);
        }
        loop_.run(RunMode::kNoWait);
        // A daemon that stops (kill) closes the connection right after its reply.
        if (!read_lines(fd, &buffer, &replies, &answered) && answered < want) {
          die("the daemon closed the connection after " + std::to_string(answered) + " of " +
              std::to_string(want) + " replies");
        }
        // Waiting for processes to exit: let them run rather than spin.
        if (answered < want && sent == text.size()) {
          pollfd p{fd, POLLIN, 0};
          ::poll(&p, 1, 0);
        }
      }
    };
    pump(expected);
    if (ping) {
      std::string line = R"({"id":"harness-ping","verb":"ping"})"
                         "\n";
      if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
        die("could not send ping");
      }
      pump(expected + 1);
      bool pong = false;
      for (const json& r : replies) {
        pong = pong || (r.is_object() && r.value("id", json()) == "harness-ping" &&
                        r.value("ok", false) && r.contains("result") && r["result"].is_object() &&
                        r["result"].value("pong", false));
      }
      if (!pong) die("the daemon did not answer ping");
    }
    ::close(fd);
    // The daemon notices the hang-up (and ends log streams) before the next input.
    loop_.run(RunMode::kNoWait);
    return replies;
  }

  // Reads what is there and parses the complete lines; false when the daemon closed the
  // connection (the lines that came before the end are parsed too).
  static bool read_lines(int fd, std::string* buffer, std::vector<json>* replies,
                         std::size_t* answered) {
    char buf[65536];
    bool open = true;
    for (;;) {
      ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
      if (n > 0) {
        buffer->append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      open = false;  // the end, or an error: the lines read before it still count
      break;
    }
    std::size_t nl;
    while ((nl = buffer->find('\n')) != std::string::npos) {
      json r = json::parse(buffer->substr(0, nl), nullptr, false);
      buffer->erase(0, nl + 1);
      if (r.is_discarded()) die("a reply line is not JSON");
      if (!r.is_object() || !r.contains("event")) ++*answered;
      replies->push_back(std::move(r));
    }
    return open;
  }

  int connect_daemon() {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) die("socket failed");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::string path = home_.socket();
    if (path.size() >= sizeof(addr.sun_path)) die("socket path too long: " + path);
    path.copy(addr.sun_path, path.size());
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0) {
      die("connect to " + path + " failed: " + std::strerror(errno));
    }
    // Let the daemon accept it.
    loop_.run(RunMode::kNoWait);
    return fd;
  }

  EventLoop loop_;
  m::Home home_;
  std::shared_ptr<void> daemon_;
  std::set<std::string> baseline_;
};

Harness* harness = nullptr;

// The daemon learns that an app exited from SIGCHLD, read through a signalfd on this thread
// (herd/loop/signal.h blocks it on the loop's thread only). libFuzzer runs threads of its own (the
// RSS watcher), and a process-directed signal goes to any thread that does not block it, where
// SIGCHLD's default action drops it: the daemon would never hear of the exit. Blocked before
// main(), so every thread libFuzzer starts inherits the block (herd's spawn unblocks it in the
// apps). The daemon (one thread) does not have this problem.
[[maybe_unused]] const bool sigchld_blocked = [] {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  return ::pthread_sigmask(SIG_BLOCK, &set, nullptr) == 0;
}();

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Built on first use and never destroyed (libFuzzer ends with exit()); only the temporary
  // home is removed then.
  if (harness == nullptr) {
    harness = new Harness();
    std::atexit([] { harness->cleanup(); });
  }
  harness->one_input(data, size);
  return 0;
}
