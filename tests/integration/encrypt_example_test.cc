// build/bin/encrypt as its users run it: PBKDF2 in worker threads, checked against libcrypto, and
// the loop answering / while four encryptions run.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "integration/example_process.h"

namespace herd {
namespace {

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
    // Appended rather than "t" + ...: GCC 12 reports a false -Wrestrict on that here.
    std::string text = "t";
    text += std::to_string(i);
    EXPECT_EQ(body_of(r), pbkdf2_sha512_hex(text, kIterations)) << r;
  }
}

}  // namespace
}  // namespace herd
