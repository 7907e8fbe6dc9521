// Reading /proc: one process's stat line.
#include "metrics/proc_stats.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "proc_stat_line.h"

namespace herd::manager {
namespace {

TEST(ProcStats, ParsesACommandWithSpacesAndParentheses) {
  std::string line = stat_line(42, "my (odd) app", 1, 42, 100, 50, 0, 10);
  auto s = parse_proc_stat(line.data());
  ASSERT_TRUE(s);
  long ticks = ::sysconf(_SC_CLK_TCK);
  EXPECT_EQ(s->ppid, 1);
  EXPECT_EQ(s->pgid, 42);
  EXPECT_EQ(s->cpu_ms, static_cast<std::uint64_t>(150 * 1000 / ticks));
  EXPECT_EQ(s->rss_bytes, 10u * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)));
}

}  // namespace
}  // namespace herd::manager
