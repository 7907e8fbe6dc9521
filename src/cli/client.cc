#include "cli/client.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <thread>

#include "logs/log_tail.h"

namespace herd::cli {
namespace {

std::string self_exe() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string("herd");
}

}  // namespace

manager::ErrorReply client_error(const Error& e) {
  const std::string& c = e.context();
  switch (e.code()) {
    case ENAMETOOLONG:  // the socket path
    case ETIMEDOUT:     // the daemon did not start
    case EPROTO:        // not JSON
    case EILSEQ:        // a request that is not UTF-8
    case ECONNRESET:    // the daemon closed the connection
    case EBUSY:         // the home is held by a process that does not answer
    case ESRCH:         // the `herd runtime` that held the home has exited
      return {manager::ErrorCode::kClient, c};
    default:
      return {manager::ErrorCode::kClient, e.message()};
  }
}

Status Client::try_connect() {
  auto fd = Fd::socket(AF_UNIX, SOCK_STREAM);
  if (!fd) return std::unexpected(fd.error());
  // The CLI is a plain blocking client.
  if (Status s = set_nonblocking(fd->get(), false); !s) return s;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string path = home_.socket();
  if (path.size() >= sizeof(addr.sun_path)) {
    return fail(ENAMETOOLONG, "control socket path " + path +
                                  " is too long; use a shorter "
                                  "HERD_HOME");
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd->get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0) {
    return fail_errno("connect " + path);
  }
  fd_ = std::move(*fd);
  return {};
}

Status Client::spawn_daemon() {
  if (Status s = home_.prepare(); !s) return s;
  std::string exe = self_exe();
  pid_t pid = ::fork();
  if (pid < 0) return fail_errno("fork the daemon");
  if (pid == 0) {
    // Its own session, so the terminal's Ctrl-C and hang-up never reach it; a second fork so
    // it is not our child (we do not wait for it) and can never regain a terminal.
    ::setsid();
    if (::fork() != 0) ::_exit(0);
    // CLOEXEC: the daemon gets exactly 0, 1 and 2 from us, no fourth /dev/null to pass on.
    int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull >= 0) {
      ::dup2(devnull, 0);
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execl(exe.c_str(), exe.c_str(), "daemon", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  started_ = true;
  return {};
}

Status Client::wait_for_holder(const manager::LockHolder& holder, bool* start_daemon) {
  using manager::LockHolder;
  *start_daemon = false;
  // A keeper starts a new daemon by itself (after a crash: once the orphans are gone, up to 5 s;
  // after `herd kill`: it ends in a moment); a `herd runtime` listens a moment after it took the
  // lock, or is on its way out.
  bool keeper = holder.kind == LockHolder::Kind::kDaemon;
  bool runtime = holder.kind == LockHolder::Kind::kRuntime;
  auto wait = keeper ? std::chrono::seconds(10) : std::chrono::seconds(5);
  auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    if (try_connect()) return {};
    auto now_holder = manager::lock_holder(home_);
    if (!now_holder) {
      // A keeper that let go ended with its daemon (`herd kill`): a new daemon is in order, as
      // for a home nobody held. A `herd runtime` that let go has exited: the home was its own,
      // and a command racing its exit does not become the home's next daemon.
      if (!runtime) {
        *start_daemon = true;
        return {};
      }
      return fail(ESRCH, fmt::format("{} held {} and has exited; no daemon runs for it now (run "
                                     "the command again to start one)",
                                     holder.describe(), home_.dir));
    }
    if (std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return fail(EBUSY, fmt::format("{} is held by {}, which did not answer on {} within {} s (a "
                                 "`herd runtime` starting or stopping, or a daemon that is stuck); "
                                 "no second daemon was started",
                                 home_.dir, holder.describe(), home_.socket(), wait.count()));
}

Status Client::connect(bool start_daemon) {
  Status first = try_connect();
  if (first) return first;
  int err = first.error().code();
  if (!start_daemon || (err != ENOENT && err != ECONNREFUSED)) {
    if (err == ENOENT || err == ECONNREFUSED) {
      return fail(err, fmt::format("no herd daemon runs for {}", home_.dir));
    }
    return first;
  }
  // A process that holds the home's lock but does not answer is the home's daemon on its way in
  // or out: wait for it rather than start a second daemon that would queue for its lock (and
  // take the home over once it has gone).
  if (auto holder = manager::lock_holder(home_)) {
    bool start = false;
    if (Status s = wait_for_holder(*holder, &start); !s || !start) return s;
  }
  if (Status s = spawn_daemon(); !s) return s;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    if (try_connect()) return {};
    if (std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::string why;
  for (const auto& line :
       manager::tail_lines(home_.log(), 5).value_or(std::vector<std::string>{})) {
    why += "\n  " + line;
  }
  return fail(ETIMEDOUT, fmt::format("the herd daemon did not start within 10 s; the end of {}:{}",
                                     home_.log(), why.empty() ? " (empty)" : why));
}

Status Client::read_more() {
  constexpr std::size_t kChunk = 65536;
  std::size_t had = buffer_.size();
  for (;;) {
    // Straight into the buffer's end: no copy through a second buffer.
    buffer_.resize(had + kChunk);
    ssize_t n = ::read(fd_.get(), buffer_.data() + had, kChunk);
    buffer_.resize(had + static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
    if (n < 0 && errno == EINTR) continue;
    // A reset reads as a close: either way the daemon went away mid-reply.
    if (n == 0 || (n < 0 && errno == ECONNRESET)) {
      return fail(ECONNRESET, "the daemon closed the connection");
    }
    if (n < 0) return fail_errno("read from the daemon");
    return {};
  }
}

Result<std::string> Client::read_raw_line() {
  std::size_t searched = 0;  // a line of megabytes arrives in many reads: each byte looked at once
  for (;;) {
    auto nl = buffer_.find('\n', searched);
    if (nl != std::string::npos) {
      std::string line;
      if (nl + 1 == buffer_.size()) {
        line = std::move(buffer_);
        line.pop_back();
        buffer_.clear();
      } else {
        line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
      }
      return line;
    }
    searched = buffer_.size();
    if (Status s = read_more(); !s) return std::unexpected(s.error());
  }
}

Result<nlohmann::json> Client::read_line() {
  auto line = read_raw_line();
  if (!line) return std::unexpected(line.error());
  auto j = nlohmann::json::parse(*line, nullptr, false);
  if (j.is_discarded()) return fail(EPROTO, "the daemon sent a line that is not JSON");
  return j;
}

Result<int> Client::write_request(manager::Verb verb, const manager::Request& request_fields) {
  nlohmann::json request = manager::request_json(verb, request_fields);
  int id = next_id_++;
  request["id"] = id;
  std::string line;
  try {
    line = request.dump() + "\n";
  } catch (const nlohmann::json::type_error&) {
    // JSON carries text: a path or value whose bytes are not UTF-8 cannot be sent as it is.
    return fail(EILSEQ,
                "a name, path or value in this command is not valid UTF-8; herd takes UTF-8 text "
                "(rename the file, or start it through a command line that names it)");
  }
  std::string_view rest = line;
  while (!rest.empty()) {
    ssize_t n = ::send(fd_.get(), rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("write to the daemon");
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  return id;
}

std::expected<int, manager::ErrorReply> Client::send_request(
    manager::Verb verb, const manager::Request& request_fields) {
  auto id = write_request(verb, request_fields);
  if (!id) return std::unexpected(client_error(id.error()));
  return *id;
}

Client::CallResult Client::reply_of(nlohmann::json&& reply) {
  // Said once by the daemon to whoever asks first (apps restored after a crash, say).
  if (auto n = reply.find("notice"); n != reply.end() && n->is_string()) {
    std::fprintf(stderr, "herd: %s\n", n->get<std::string>().c_str());
  }
  auto ok = reply.find("ok");
  if (ok->is_boolean() && ok->get<bool>()) {
    auto result = reply.find("result");
    return result == reply.end() ? nlohmann::json() : std::move(*result);  // moved: no copy
  }
  return std::unexpected(reply.value("error", nlohmann::json::object()).get<manager::ErrorReply>());
}

Result<nlohmann::json> Client::read_reply() {
  for (;;) {
    auto line = read_line();
    if (!line || line->contains("ok")) return line;
    // an event of an earlier stream: skipped
  }
}

Client::CallResult Client::call(manager::Verb verb, const manager::Request& request_fields) {
  auto id = send_request(verb, request_fields);
  if (!id) return std::unexpected(id.error());
  auto reply = read_reply();
  if (!reply) return std::unexpected(client_error(reply.error()));
  return reply_of(std::move(*reply));
}

std::expected<void, manager::ErrorReply> Client::call_text(manager::Verb verb,
                                                           const manager::Request& request_fields,
                                                           const TextSink& sink) {
  auto id = send_request(verb, request_fields);
  if (!id) return std::unexpected(id.error());
  const std::string head = fmt::format(R"({{"id":{},"ok":true,"result":)", *id);
  for (;;) {
    // Enough of the next line to tell whether it is the daemon's plain success
    // (control_server.h): the result is the rest of the line but its closing brace, as the
    // daemon wrote it, handed on as it arrives.
    while (buffer_.size() < head.size() && buffer_.find('\n') == std::string::npos) {
      if (Status s = read_more(); !s) return std::unexpected(client_error(s.error()));
    }
    if (buffer_.starts_with(head)) {
      buffer_.erase(0, head.size());
      for (;;) {
        auto nl = buffer_.find('\n');
        if (nl != std::string::npos) {
          if (nl == 0 || buffer_[nl - 1] != '}') {
            return std::unexpected(
                client_error(Error(EPROTO, "the daemon sent a line that is not JSON")));
          }
          sink(std::string_view(buffer_).substr(0, nl - 1));
          buffer_.erase(0, nl + 1);
          return {};
        }
        // All but the last byte, which may be the closing brace.
        if (buffer_.size() > 1) {
          sink(std::string_view(buffer_).substr(0, buffer_.size() - 1));
          buffer_.erase(0, buffer_.size() - 1);
        }
        if (Status s = read_more(); !s) return std::unexpected(client_error(s.error()));
      }
    }
    auto line = read_raw_line();
    if (!line) return std::unexpected(client_error(line.error()));
    auto reply = nlohmann::json::parse(*line, nullptr, false);
    if (reply.is_discarded()) {
      return std::unexpected(
          client_error(Error(EPROTO, "the daemon sent a line that is not JSON")));
    }
    if (!reply.contains("ok")) continue;  // an event of an earlier stream
    auto r = reply_of(std::move(reply));
    if (!r) return std::unexpected(r.error());
    sink(r->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return {};
  }
}

std::expected<void, manager::ErrorReply> Client::stream(
    manager::Verb verb, const manager::Request& request,
    const std::function<bool(const nlohmann::json&)>& on_event) {
  // The daemon hanging up ends the stream, whenever it does: no error.
  auto ended = [](const Error& e) -> std::expected<void, manager::ErrorReply> {
    if (e.code() == ECONNRESET || e.code() == EPIPE) return {};
    return std::unexpected(client_error(e));
  };
  auto id = write_request(verb, request);
  if (!id) return ended(id.error());
  auto reply = read_reply();
  if (!reply) return ended(reply.error());
  auto r = reply_of(std::move(*reply));
  if (!r && r.error().code == manager::ErrorCode::kQuitting) return {};
  if (!r) return std::unexpected(r.error());
  for (;;) {
    auto ev = read_line();
    if (!ev) return ended(ev.error());
    if (!on_event(*ev)) return {};
  }
}

bool Client::close_and_wait_exit(std::chrono::milliseconds timeout) {
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (::getsockopt(fd_.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.pid <= 0) {
    fd_ = Fd();
    return false;
  }
  // A pidfd pins the process: its exit is seen even if the pid is reused at once.
  Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, cred.pid, 0)));
  fd_ = Fd();  // the daemon's loop ends once its last client has gone
  if (!pidfd) return ::kill(cred.pid, 0) != 0 && errno == ESRCH;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{pidfd.get(), POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    return n > 0;
  }
}

Result<std::vector<nlohmann::json>> Client::read_events(bool read_socket) {
  if (read_socket) {
    char buf[65536];
    ssize_t n;
    do {
      n = ::read(fd_.get(), buf, sizeof(buf));
    } while (n < 0 && errno == EINTR);
    if (n < 0) return fail_errno("read from the daemon");
    if (n == 0) return fail(ECONNRESET, "the daemon closed the connection");
    buffer_.append(buf, static_cast<std::size_t>(n));
  }
  std::vector<nlohmann::json> events;
  std::size_t nl;
  while ((nl = buffer_.find('\n')) != std::string::npos) {
    auto j = nlohmann::json::parse(std::string_view(buffer_).substr(0, nl), nullptr, false);
    buffer_.erase(0, nl + 1);
    if (j.is_discarded()) return fail(EPROTO, "the daemon sent a line that is not JSON");
    events.push_back(std::move(j));
  }
  return events;
}

}  // namespace herd::cli
