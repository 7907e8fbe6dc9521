// sd_notify (NOTIFY_SOCKET), checked the way a service manager receives it: a datagram socket at
// a path or in the abstract namespace, byte for byte the same as libsystemd's sd_notify.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "herd/base/fd.h"
#include "herd/net/socket_activation.h"
#include "support/wait.h"
#include "unit/activation_spawn.h"

namespace herd {
namespace {

// Sends argv[2] to NOTIFY_SOCKET with herd's sd_notify (argv[1] == "herd") or libsystemd's.
bool notify_role = test::register_role("notify", [](int argc, char** argv) {
  if (argc < 3) return 2;
  std::string which = argv[1];
  if (which == "herd") {
    auto st = sd_notify(argv[2]);
    std::printf("%s\n", st ? "ok" : st.error().message().c_str());
    return st ? 0 : 1;
  }
  int r = ::sd_notify(0, argv[2]);
  std::printf("libsystemd rc=%d\n", r);
  return r > 0 ? 0 : 1;
});

// Sets an environment variable for one scope (this test process is single-threaded here).
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// The receiving end of the notify protocol, as a service manager implements it: a datagram
// socket; each datagram is one message of newline-separated KEY=VALUE assignments.
class NotifyReceiver {
 public:
  // `where` is a path or "@name".
  explicit NotifyReceiver(const std::string& where) : where_(where) {
    auto address = Address::parse("unix:" + where);
    EXPECT_TRUE(address.has_value()) << address.error().message();
    fd_ = Fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    EXPECT_EQ(::bind(fd_.get(), address->data(), address->size()), 0) << std::strerror(errno);
    if (where[0] == '/') path_ = where;
  }
  ~NotifyReceiver() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }

  // The next datagram, or nullopt after `timeout`.
  std::optional<std::string> receive(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return std::nullopt;
    char buf[4096];
    ssize_t n = ::recv(fd_.get(), buf, sizeof(buf), 0);
    if (n < 0) return std::nullopt;
    return std::string(buf, static_cast<std::size_t>(n));
  }

  static std::map<std::string, std::string> parse(const std::string& datagram) {
    std::map<std::string, std::string> fields;
    std::size_t start = 0;
    while (start < datagram.size()) {
      std::size_t end = datagram.find('\n', start);
      if (end == std::string::npos) end = datagram.size();
      std::string line = datagram.substr(start, end - start);
      auto eq = line.find('=');
      if (eq != std::string::npos) fields[line.substr(0, eq)] = line.substr(eq + 1);
      start = end + 1;
    }
    return fields;
  }

  const std::string& where() const { return where_; }

 private:
  std::string where_;
  std::string path_;
  Fd fd_;
};

std::string abstract_name(const char* tag) {
  return "@herd-test-" + std::string(tag) + "-" + std::to_string(::getpid());
}

TEST(SdNotify, UnsetNotifySocketIsANoOp) {
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_TRUE(sd_notify("READY=1").has_value());
  ScopedEnv empty("NOTIFY_SOCKET", "");
  EXPECT_TRUE(sd_notify("READY=1").has_value());
}

TEST(SdNotify, SendsToAPathSocket) {
  TempDir dir;
  NotifyReceiver receiver(dir.file("notify"));
  ScopedEnv env("NOTIFY_SOCKET", receiver.where());
  auto st = sd_notify("READY=1");
  ASSERT_TRUE(st.has_value()) << st.error().message();
  auto got = receiver.receive();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, "READY=1");
  st = sd_notify("STOPPING=1\nSTATUS=closing 3 connections");
  ASSERT_TRUE(st.has_value()) << st.error().message();
  got = receiver.receive();
  ASSERT_TRUE(got.has_value());
  auto fields = NotifyReceiver::parse(*got);
  EXPECT_EQ(fields["STOPPING"], "1");
  EXPECT_EQ(fields["STATUS"], "closing 3 connections");
}

TEST(SdNotify, SendsToAnAbstractSocket) {
  NotifyReceiver receiver(abstract_name("abstract"));
  ScopedEnv env("NOTIFY_SOCKET", receiver.where());
  auto st = sd_notify("READY=1");
  ASSERT_TRUE(st.has_value()) << st.error().message();
  auto got = receiver.receive();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, "READY=1");
}

TEST(SdNotify, ErrorsSayWhatWasBeingSentAndWhere) {
  {
    TempDir dir;
    std::string nobody = dir.path() + "/nobody";
    ScopedEnv env("NOTIFY_SOCKET", nobody);
    auto st = sd_notify("READY=1");
    ASSERT_FALSE(st.has_value());
    EXPECT_EQ(st.error().code(), ENOENT);
    EXPECT_NE(st.error().message().find("sd_notify READY=1 to NOTIFY_SOCKET=" + nobody),
              std::string::npos)
        << st.error().message();
  }
  {
    ScopedEnv env("NOTIFY_SOCKET", "relative/notify");
    auto st = sd_notify("READY=1");
    ASSERT_FALSE(st.has_value());
    EXPECT_EQ(st.error().code(), EAFNOSUPPORT);
  }
  {
    ScopedEnv env("NOTIFY_SOCKET", "/" + std::string(200, 'x'));
    auto st = sd_notify("READY=1");
    ASSERT_FALSE(st.has_value());
    EXPECT_EQ(st.error().code(), EINVAL);
  }
  {
    ScopedEnv env("NOTIFY_SOCKET", "@");
    EXPECT_FALSE(sd_notify("READY=1").has_value());
  }
}

TEST(SdNotify, AgreesWithLibsystemdByteForByte) {
  TempDir dir;
  const std::string where[] = {dir.file("notify"), abstract_name("compare")};
  const char* states[] = {"READY=1", "STOPPING=1", "READY=1\nSTATUS=listening on 127.0.0.1:8080",
                          "MAINPID=42\nERRNO=0\nX_HERD=with = sign"};
  for (const auto& w : where) {
    NotifyReceiver receiver(w);
    for (const char* state : states) {
      SCOPED_TRACE(w + " " + state);
      auto theirs = spawn_activated("notify", {"NOTIFY_SOCKET=" + w}, {}, ListenPid::kNone,
                                    {"libsystemd", state});
      ASSERT_TRUE(theirs.exited) << theirs.err;
      ASSERT_EQ(theirs.exit_code, 0) << theirs.out << theirs.err;
      auto from_libsystemd = receiver.receive();
      auto ours =
          spawn_activated("notify", {"NOTIFY_SOCKET=" + w}, {}, ListenPid::kNone, {"herd", state});
      ASSERT_TRUE(ours.exited) << ours.err;
      ASSERT_EQ(ours.exit_code, 0) << ours.out << ours.err;
      auto from_herd = receiver.receive();
      ASSERT_TRUE(from_libsystemd.has_value());
      ASSERT_TRUE(from_herd.has_value());
      EXPECT_EQ(*from_herd, *from_libsystemd);
      EXPECT_EQ(NotifyReceiver::parse(*from_herd), NotifyReceiver::parse(*from_libsystemd));
    }
  }
}

}  // namespace
}  // namespace herd
