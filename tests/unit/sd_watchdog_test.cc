// sd_watchdog_enabled: whether this process is to send WATCHDOG=1, read from WATCHDOG_USEC and
// WATCHDOG_PID exactly as libsystemd's sd_watchdog_enabled() reads them.
#include <gtest/gtest.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>

#include "herd/net/socket_activation.h"

namespace herd {
namespace {

void set_or_unset(const char* name, const std::optional<std::string>& value) {
  if (value) {
    ::setenv(name, value->c_str(), 1);
  } else {
    ::unsetenv(name);
  }
}

TEST(SdWatchdogTest, AgreesWithLibsystemd) {
  std::string self = std::to_string(::getpid());
  struct Case {
    std::optional<std::string> usec;
    std::optional<std::string> pid;
    std::optional<std::uint64_t> expected;
  } cases[] = {
      {std::nullopt, std::nullopt, std::nullopt},
      {"1000000", std::nullopt, 1000000},
      {"1000000", self, 1000000},
      {"1000000", "1", std::nullopt},  // meant for another process
      {"0", std::nullopt, std::nullopt},
      {"abc", std::nullopt, std::nullopt},
      {"10s", std::nullopt, std::nullopt},
      {"1000000", "x", std::nullopt},
      {"", std::nullopt, std::nullopt},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("WATCHDOG_USEC=" + c.usec.value_or("(unset)") +
                 " WATCHDOG_PID=" + c.pid.value_or("(unset)"));
    set_or_unset("WATCHDOG_USEC", c.usec);
    set_or_unset("WATCHDOG_PID", c.pid);
    EXPECT_EQ(sd_watchdog_enabled(), c.expected);
    std::uint64_t usec = 0;
    int systemd = ::sd_watchdog_enabled(0, &usec);
    EXPECT_EQ(systemd > 0, c.expected.has_value());
    if (systemd > 0) {
      EXPECT_EQ(usec, *c.expected);
    }
  }
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
}

}  // namespace
}  // namespace herd
