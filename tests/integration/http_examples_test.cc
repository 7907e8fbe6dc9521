// The examples as their users run them: build/bin/hello and build/bin/encrypt started as real
// processes (found next to this test binary), driven by curl and by plain sockets, under socket
// activation (a listening socket handed over at descriptor 3 with LISTEN_FDS, as herd and
// systemd do) and with sd_notify readiness. Every process a test starts is killed by pid when
// the test ends, pass or fail (and by the kernel if this process dies: PR_SET_PDEATHSIG).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "herd/address.h"
#include "herd/fd.h"
#include "support/child_process.h"

extern char** environ;

namespace herd {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

constexpr const char* kCurl = "/usr/bin/curl";

std::string bin_dir() {
  std::string self = test::self_exe();
  return self.substr(0, self.rfind('/'));
}

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::max<long long>(left, 0));
}

// ---------------------------------------------------------------------------------------------
// A child process with its stdout and stderr captured, killed (SIGKILL, by pid) and reaped when
// the object goes away unless it has already been reaped.

struct Spawn {
  std::vector<std::string> argv;
  std::vector<std::string> env;  // added to this process's environment (minus LISTEN_*, ...)
  std::vector<int> fds;          // placed at 3, 4, ... in the child, inheritable
  bool listen_pid = false;       // LISTEN_PID=<the child's pid>, written after fork
};

class Process {
 public:
  static std::unique_ptr<Process> start(const Spawn& spec) {
    auto p = std::unique_ptr<Process>(new Process());
    std::vector<std::string> env_store;
    for (char** e = environ; *e != nullptr; ++e) {
      std::string_view v(*e);
      if (v.starts_with("LISTEN_") || v.starts_with("NOTIFY_SOCKET=") ||
          v.starts_with("HERD_TEST_ROLE=") || v.starts_with("PORT=")) {
        continue;
      }
      env_store.emplace_back(v);
    }
    for (const auto& e : spec.env) env_store.push_back(e);
    std::vector<char*> envp;
    for (auto& e : env_store) envp.push_back(e.data());
    char pid_entry[40] = "LISTEN_PID=";
    if (spec.listen_pid) envp.push_back(pid_entry);
    envp.push_back(nullptr);
    std::vector<std::string> argv_store = spec.argv;
    std::vector<char*> argv;
    for (auto& a : argv_store) argv.push_back(a.data());
    argv.push_back(nullptr);

    auto out = Fd::pipe();
    auto err = Fd::pipe();
    if (!out || !err) return nullptr;
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid == 0) {
      // Async-signal-safe calls only. Die with the test, whatever way it ends.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      constexpr int kHigh = 200;
      int out_w = ::fcntl(out->second.get(), F_DUPFD_CLOEXEC, kHigh);
      int err_w = ::fcntl(err->second.get(), F_DUPFD_CLOEXEC, kHigh);
      int high[8];
      std::size_t n = std::min<std::size_t>(spec.fds.size(), 8);
      for (std::size_t i = 0; i < n; ++i) high[i] = ::fcntl(spec.fds[i], F_DUPFD_CLOEXEC, kHigh);
      ::dup2(out_w, STDOUT_FILENO);
      ::dup2(err_w, STDERR_FILENO);
      for (std::size_t i = 0; i < n; ++i) ::dup2(high[i], 3 + static_cast<int>(i));
      if (spec.listen_pid) {
        char digits[24];
        int len = 0;
        for (pid_t v = ::getpid(); v > 0; v /= 10) digits[len++] = static_cast<char>('0' + v % 10);
        char* w = pid_entry + std::strlen("LISTEN_PID=");
        while (len > 0) *w++ = digits[--len];
        *w = '\0';
      }
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(126);
    }
    if (pid < 0) return nullptr;
    p->pid_ = pid;
    p->out_ = std::move(out->first);
    p->err_ = std::move(err->first);
    return p;
  }

  ~Process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }

  pid_t pid() const { return pid_; }
  const std::string& out() const { return out_text_; }
  const std::string& err() const { return err_text_; }

  // Collects output until `done()` or the deadline; false on timeout.
  template <class F>
  bool pump_until(F done, milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (!done()) {
      if (!out_.valid() && !err_.valid()) return done();
      if (Clock::now() >= deadline) return false;
      pump(std::min(remaining_ms(deadline), 50));
    }
    return true;
  }
  bool wait_for_stderr(const std::string& text, milliseconds timeout) {
    return pump_until([&] { return err_text_.find(text) != std::string::npos; }, timeout);
  }

  // Waits for the process to end (reading its output meanwhile). The exit code, or 128 + the
  // signal that killed it; nullopt on timeout (the process is left running for ~Process).
  std::optional<int> wait_exit(milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    pump_until([] { return false; }, timeout);  // until both pipes close or time is up
    for (;;) {
      int status;
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      if (r < 0 && errno != EINTR) return std::nullopt;
      if (Clock::now() >= deadline) return std::nullopt;
      ::poll(nullptr, 0, 5);  // the pipes are closed; nothing else signals the exit here
    }
  }

 private:
  Process() = default;

  void pump(int timeout_ms) {
    pollfd p[2] = {{out_.valid() ? out_.get() : -1, POLLIN, 0},
                   {err_.valid() ? err_.get() : -1, POLLIN, 0}};
    if (::poll(p, 2, timeout_ms) <= 0) return;
    Fd* fds[2] = {&out_, &err_};
    std::string* sinks[2] = {&out_text_, &err_text_};
    for (int i = 0; i < 2; ++i) {
      if (p[i].fd < 0 || p[i].revents == 0) continue;
      char buf[4096];
      ssize_t n = ::read(p[i].fd, buf, sizeof(buf));
      if (n > 0) {
        sinks[i]->append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fds[i]->reset();
      }
    }
  }

  pid_t pid_ = -1;
  Fd out_, err_;
  std::string out_text_, err_text_;
};

struct Ran {
  std::optional<int> code;
  std::string out, err;
};

Ran run(const std::vector<std::string>& argv, milliseconds timeout = seconds(30)) {
  auto p = Process::start({argv, {}, {}, false});
  if (!p) return {};
  Ran r;
  r.code = p->wait_exit(timeout);
  r.out = p->out();
  r.err = p->err();
  return r;
}

// ---------------------------------------------------------------------------------------------
// Sockets.

// A listening TCP socket on 127.0.0.1 with a kernel-chosen port, as herd or systemd would hand
// it over (blocking; the server makes it non-blocking when it adopts it).
Fd listening_socket() {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&sin), sizeof(sin)), 0);
  EXPECT_EQ(::listen(fd.get(), 64), 0);
  return fd;
}

int port_of(const Fd& fd) {
  auto a = Address::local_of(fd.get());
  return a ? a->port() : 0;
}

// A port that was free a moment ago (for the cases where the server must bind it itself).
int free_port() {
  Fd s = listening_socket();
  return port_of(s);
}

Fd connect_to(int port) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(static_cast<std::uint16_t>(port));
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) < 0) return Fd();
  return fd;
}

bool send_all(const Fd& fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd.get(), data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Reads until the server closes the connection or the deadline passes.
std::string read_to_eof(const Fd& fd, milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  std::string got;
  for (;;) {
    pollfd p{fd.get(), POLLIN, 0};
    int r = ::poll(&p, 1, remaining_ms(deadline));
    if (r <= 0) break;
    char buf[4096];
    ssize_t n = ::recv(fd.get(), buf, sizeof(buf), 0);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  return got;
}

std::string get_request(const std::string& target) {
  return "GET " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
}

// One request on its own connection; the whole response (head and body).
std::string http_get(int port, const std::string& target, milliseconds timeout = seconds(10)) {
  Fd c = connect_to(port);
  if (!c || !send_all(c, get_request(target))) return {};
  return read_to_eof(c, timeout);
}

std::string body_of(const std::string& response) {
  auto at = response.find("\r\n\r\n");
  return at == std::string::npos ? std::string() : response.substr(at + 4);
}

// A datagram socket at a fresh path: the receiving end of sd_notify.
class NotifySocket {
 public:
  NotifySocket() {
    char tmpl[] = "/tmp/herd-notify-XXXXXX";
    if (::mkdtemp(tmpl) != nullptr) dir_ = tmpl;
    path_ = dir_ + "/notify";
    auto address = Address::parse("unix:" + path_);
    fd_ = Fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    EXPECT_EQ(::bind(fd_.get(), address->data(), address->size()), 0);
  }
  ~NotifySocket() {
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  std::string env() const { return "NOTIFY_SOCKET=" + path_; }
  // Waits for a datagram that contains `line` as one of its lines.
  bool wait_for(const std::string& line, milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
      pollfd p{fd_.get(), POLLIN, 0};
      if (::poll(&p, 1, remaining_ms(deadline)) <= 0) return false;
      char buf[4096];
      ssize_t n = ::recv(fd_.get(), buf, sizeof(buf), 0);
      if (n <= 0) continue;
      std::string datagram(buf, static_cast<std::size_t>(n));
      received_.push_back(datagram);
      if (("\n" + datagram + "\n").find("\n" + line + "\n") != std::string::npos) return true;
    }
  }
  const std::vector<std::string>& received() const { return received_; }

 private:
  std::string dir_, path_;
  Fd fd_;
  std::vector<std::string> received_;
};

std::unique_ptr<Process> start_adopted(const std::string& binary, const Fd& socket,
                                       std::vector<std::string> args = {},
                                       std::vector<std::string> env = {}) {
  std::vector<std::string> argv{bin_dir() + "/" + binary};
  argv.insert(argv.end(), args.begin(), args.end());
  env.push_back("LISTEN_FDS=1");
  return Process::start({argv, env, {socket.get()}, true});
}

// ---------------------------------------------------------------------------------------------
// hello

class HelloExample : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kCurl, X_OK) != 0) GTEST_SKIP() << kCurl << " is not installed";
    ASSERT_EQ(::access((bin_dir() + "/hello").c_str(), X_OK), 0) << "no hello next to the test";
  }
};

TEST_F(HelloExample, CurlGetsExactlyHelloWorldOnAnAdoptedSocket) {
  Fd socket = listening_socket();
  int port = port_of(socket);
  // The server listens on the port of the socket it is handed; --port 0 would mean the same.
  auto hello =
      start_adopted("hello", socket, {"--host", "127.0.0.1", "--port", std::to_string(port)});
  ASSERT_TRUE(hello);
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
  // No waiting for the server: connections queue on the inherited socket until it accepts.
  auto plain = run({kCurl, "-sS", "--max-time", "10", url});
  ASSERT_EQ(plain.code, 0) << plain.err << hello->err();
  EXPECT_EQ(plain.out, "Hello World!\n");

  auto heads = run({kCurl, "-sS", "-i", "--max-time", "10", url});
  ASSERT_EQ(heads.code, 0) << heads.err;
  std::string lower = heads.out;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  EXPECT_TRUE(lower.starts_with("http/1.1 200 ok\r\n")) << heads.out;
  EXPECT_NE(lower.find("\r\ncontent-length: 13\r\n"), std::string::npos) << heads.out;
  EXPECT_NE(lower.find("\r\ndate: "), std::string::npos) << heads.out;
  EXPECT_TRUE(heads.out.ends_with("\r\n\r\nHello World!\n")) << heads.out;

  // Two URLs in one curl: the second reuses the first connection (keep-alive).
  auto twice = run({kCurl, "-sS", "-v", "--max-time", "10", "-w", "[connects=%{num_connects}]", url,
                    url + "again"});
  ASSERT_EQ(twice.code, 0) << twice.err;
  EXPECT_EQ(twice.out, "Hello World!\n[connects=1]Hello World!\n[connects=0]") << twice.err;
  EXPECT_NE(twice.err.find("Re-using existing connection"), std::string::npos) << twice.err;
}

TEST_F(HelloExample, PortComesFromTheFlagOrTheEnvironment) {
  for (bool from_env : {false, true}) {
    SCOPED_TRACE(from_env ? "PORT=" : "--port");
    int port = free_port();
    Spawn spec{{bin_dir() + "/hello", "--host", "127.0.0.1"}, {}, {}, false};
    if (from_env) {
      spec.env.push_back("PORT=" + std::to_string(port));
    } else {
      spec.argv.push_back("--port=" + std::to_string(port));
    }
    auto hello = Process::start(spec);
    ASSERT_TRUE(hello);
    ASSERT_TRUE(
        hello->wait_for_stderr("listening on 127.0.0.1:" + std::to_string(port), seconds(10)))
        << hello->err();
    auto r =
        run({kCurl, "-sS", "--max-time", "10", "http://127.0.0.1:" + std::to_string(port) + "/x"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "Hello World!\n");
  }
}

TEST_F(HelloExample, NotifiesReadyAndExitsZeroOnSigterm) {
  NotifySocket notify;
  Fd socket = listening_socket();
  int port = port_of(socket);
  auto hello =
      start_adopted("hello", socket, {"--host", "127.0.0.1", "--port", "0"}, {notify.env()});
  ASSERT_TRUE(hello);
  ASSERT_TRUE(notify.wait_for("READY=1", seconds(10))) << hello->err();
  EXPECT_EQ(body_of(http_get(port, "/")), "Hello World!\n");

  ASSERT_EQ(::kill(hello->pid(), SIGTERM), 0);
  auto code = hello->wait_exit(seconds(15));
  ASSERT_TRUE(code.has_value()) << "hello did not exit within 15 s of SIGTERM: " << hello->err();
  EXPECT_EQ(*code, 0) << hello->err();
  // The datagram was queued before the process exited.
  EXPECT_TRUE(notify.wait_for("STOPPING=1", seconds(1))) << "no STOPPING=1";
}

TEST_F(HelloExample, ReadyMeansListeningWhenItBindsItself) {
  NotifySocket notify;
  int port = free_port();
  auto hello =
      Process::start({{bin_dir() + "/hello", "--host", "127.0.0.1", "--port", std::to_string(port)},
                      {notify.env()},
                      {},
                      false});
  ASSERT_TRUE(hello);
  ASSERT_TRUE(notify.wait_for("READY=1", seconds(10))) << hello->err();
  // No retry: READY=1 is only sent once the socket accepts connections.
  Fd c = connect_to(port);
  ASSERT_TRUE(c.valid()) << "connect right after READY=1: " << std::strerror(errno);
  ASSERT_TRUE(send_all(c, get_request("/")));
  EXPECT_EQ(body_of(read_to_eof(c, seconds(10))), "Hello World!\n");
  // Closed from this side too: the server lingers up to 2 s on a connection it closed until the
  // client closes its end, and a graceful stop waits for that.
  c.reset();

  ASSERT_EQ(::kill(hello->pid(), SIGINT), 0);
  auto code = hello->wait_exit(seconds(15));
  ASSERT_TRUE(code.has_value()) << "hello did not exit within 15 s of SIGINT: " << hello->err();
  EXPECT_EQ(*code, 0) << hello->err();
}

TEST_F(HelloExample, TakenPortIsAClearErrorWithExitCode1) {
  Fd taken = listening_socket();
  int port = port_of(taken);
  auto r = run({bin_dir() + "/hello", "--host", "127.0.0.1", "--port", std::to_string(port)},
               seconds(15));
  ASSERT_TRUE(r.code.has_value()) << "hello kept running on a taken port: " << r.err;
  EXPECT_EQ(*r.code, 1);
  EXPECT_NE(r.err.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Address already in use"), std::string::npos) << r.err;
}

TEST_F(HelloExample, BadArgumentsExitWith1AndSayWhy) {
  const std::vector<std::vector<std::string>> cases = {
      {"--port", "http"}, {"--port", "70000"}, {"--port"}, {"--bogus"}, {"--host", "not a host"}};
  for (const auto& args : cases) {
    std::vector<std::string> argv{bin_dir() + "/hello"};
    argv.insert(argv.end(), args.begin(), args.end());
    SCOPED_TRACE(args[0] + (args.size() > 1 ? " " + args[1] : ""));
    auto r = run(argv, seconds(15));
    ASSERT_TRUE(r.code.has_value()) << r.err;
    EXPECT_EQ(*r.code, 1);
    EXPECT_TRUE(r.err.starts_with("hello: ")) << r.err;
    EXPECT_NE(r.err.find("usage: hello"), std::string::npos) << r.err;
  }
}

// ---------------------------------------------------------------------------------------------
// encrypt

class EncryptExample : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::access((bin_dir() + "/encrypt").c_str(), X_OK), 0) << "no encrypt next to the test";
  }
};

std::string pbkdf2_sha512_hex(const std::string& text, int iterations) {
  static constexpr char kSalt[] = "herd-encrypt-example";  // examples/encrypt/main.cc
  unsigned char out[64];
  PKCS5_PBKDF2_HMAC(text.data(), static_cast<int>(text.size()),
                    reinterpret_cast<const unsigned char*>(kSalt), sizeof(kSalt) - 1, iterations,
                    EVP_sha512(), sizeof(out), out);
  std::string hex;
  for (unsigned char b : out) {
    static constexpr char kHex[] = "0123456789abcdef";
    hex += kHex[b >> 4];
    hex += kHex[b & 15];
  }
  return hex + "\n";
}

// Clock ticks of CPU (user + system, all threads) the process has used.
long cpu_ticks(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/stat";
  Fd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  char buf[1024] = {};
  if (!f || ::read(f.get(), buf, sizeof(buf) - 1) <= 0) return -1;
  const char* p = std::strrchr(buf, ')');
  if (p == nullptr) return -1;
  // After ") ": state is field 3; utime and stime are fields 14 and 15.
  long utime = 0, stime = 0;
  int field = 2;
  for (const char* s = p + 1; *s != '\0'; ++s) {
    if (*s != ' ') continue;
    ++field;
    if (field == 14) utime = std::strtol(s + 1, nullptr, 10);
    if (field == 15) stime = std::strtol(s + 1, nullptr, 10);
  }
  return utime + stime;
}

TEST_F(EncryptExample, AnswersHexOfPbkdf2HmacSha512) {
  Fd socket = listening_socket();
  int port = port_of(socket);
  auto encrypt = start_adopted("encrypt", socket,
                               {"--host", "127.0.0.1", "--port", "0", "--iterations", "1000"});
  ASSERT_TRUE(encrypt);
  std::string r = http_get(port, "/encrypt?text=hello%20world");
  EXPECT_TRUE(r.starts_with("HTTP/1.1 200 ")) << r << encrypt->err();
  EXPECT_EQ(body_of(r), pbkdf2_sha512_hex("hello world", 1000));
  EXPECT_TRUE(http_get(port, "/encrypt").starts_with("HTTP/1.1 400 "));
  EXPECT_TRUE(http_get(port, "/nowhere").starts_with("HTTP/1.1 404 "));
  EXPECT_EQ(body_of(http_get(port, "/")), "ok\n");
}

TEST_F(EncryptExample, RootAnswersWhileFourEncryptsRun) {
  Fd socket = listening_socket();
  int port = port_of(socket);
  // Half a second to a few seconds of hashing per request (depending on the machine and its
  // load); four of them on 4 workers.
  constexpr int kIterations = 500'000;
  auto encrypt = start_adopted("encrypt", socket,
                               {"--host", "127.0.0.1", "--port", "0", "--workers", "4",
                                "--iterations", std::to_string(kIterations)});
  ASSERT_TRUE(encrypt);
  long ticks_before = cpu_ticks(encrypt->pid());
  std::vector<Fd> slow;
  for (int i = 0; i < 4; ++i) {
    slow.push_back(connect_to(port));
    ASSERT_TRUE(slow.back().valid());
    ASSERT_TRUE(send_all(slow.back(), get_request("/encrypt?text=t" + std::to_string(i))));
  }
  // The hashing has started once the process has burnt CPU no idle loop would: wait for 0.2 s
  // of it (the event to wait for; there is no other signal from outside the process).
  long hz = ::sysconf(_SC_CLK_TCK);
  auto deadline = Clock::now() + seconds(30);
  while (cpu_ticks(encrypt->pid()) - ticks_before < hz / 5) {
    ASSERT_LT(Clock::now(), deadline) << "encrypt never started hashing: " << encrypt->err();
    ::poll(nullptr, 0, 10);
  }
  for (const auto& s : slow) {
    pollfd p{s.get(), POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 0), 0) << "an /encrypt answered too early for this test to mean "
                                      "anything: raise kIterations";
  }

  std::string root = http_get(port, "/");
  EXPECT_EQ(body_of(root), "ok\n") << root;
  // The order is the proof: "/" was answered while every hash was still running.
  for (const auto& s : slow) {
    pollfd p{s.get(), POLLIN, 0};
    EXPECT_EQ(::poll(&p, 1, 0), 0) << "an /encrypt finished before \"/\" was answered";
  }
  for (int i = 0; i < 4; ++i) {
    std::string r = read_to_eof(slow[static_cast<std::size_t>(i)], seconds(120));
    EXPECT_EQ(body_of(r), pbkdf2_sha512_hex("t" + std::to_string(i), kIterations)) << r;
  }
}

}  // namespace
}  // namespace herd
