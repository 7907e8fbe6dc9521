// KeptFile: a file read again and again through one descriptor (pread at offset 0), within a
// process-wide budget of descriptors; a kept /proc/<pid>/stat stops reading once its process is
// gone.
#include "metrics/kept_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "support/child.h"
#include "support/temp_dir.h"

namespace herd::manager {
namespace {

std::string read_all(KeptFile& f) {
  char buf[256];
  ssize_t n = f.read(buf, sizeof(buf));
  return n < 0 ? "(error)" : std::string(buf, static_cast<std::size_t>(n));
}

TEST(KeptFile, ReadsTheFileAgainFromItsStartThroughOneDescriptor) {
  test::TempDir dir;
  std::string path = dir.write("usage", "209715200\n");
  std::size_t before = KeptFile::held();
  {
    KeptFile f(path);
    EXPECT_FALSE(f.kept());  // nothing is opened before the first read
    EXPECT_EQ(read_all(f), "209715200\n");
    EXPECT_TRUE(f.kept());
    EXPECT_EQ(KeptFile::held(), before + 1);
    // Rewritten in place (as the kernel regenerates its files): the next read sees it whole.
    dir.write("usage", "7\n");
    EXPECT_EQ(read_all(f), "7\n");
    dir.write("usage", "1234567890123\n");
    EXPECT_EQ(read_all(f), "1234567890123\n");
    // Moved: it keeps its descriptor and the budget follows it.
    KeptFile g(std::move(f));
    EXPECT_TRUE(g.kept());
    EXPECT_EQ(read_all(g), "1234567890123\n");
    EXPECT_EQ(KeptFile::held(), before + 1);
  }
  EXPECT_EQ(KeptFile::held(), before);
}

TEST(KeptFile, AFileThatCannotBeOpenedReadsAsAnErrorUntilItExists) {
  test::TempDir dir;
  KeptFile f(dir / "later");
  char buf[16];
  EXPECT_EQ(f.read(buf, sizeof(buf)), -1);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_FALSE(f.kept());
  dir.write("later", "1\n");
  EXPECT_EQ(read_all(f), "1\n");
}

TEST(KeptFile, OverTheBudgetEachReadOpensAndClosesTheFile) {
  test::TempDir dir;
  std::string path = dir.write("usage", "5\n");
  std::size_t held = KeptFile::held();
  std::size_t budget = KeptFile::budget();
  KeptFile::set_budget(held);  // spent
  KeptFile f(path);
  EXPECT_EQ(read_all(f), "5\n");
  EXPECT_FALSE(f.kept());
  dir.write("usage", "6\n");
  EXPECT_EQ(read_all(f), "6\n");
  EXPECT_EQ(KeptFile::held(), held);
  KeptFile::set_budget(held + 1);
  EXPECT_EQ(read_all(f), "6\n");
  EXPECT_TRUE(f.kept());
  KeptFile::set_budget(budget);
}

TEST(KeptFile, AKeptProcStatFailsOnceItsProcessIsGone) {
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  test::ForkedGuard guard{child};
  KeptFile f("/proc/" + std::to_string(child) + "/stat");
  std::string first = read_all(f);
  EXPECT_EQ(first.rfind(std::to_string(child) + " (", 0), 0u) << first;
  EXPECT_TRUE(f.kept());
  ::kill(child, SIGKILL);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  guard.pid = 0;
  char buf[256];
  EXPECT_EQ(f.read(buf, sizeof(buf)), -1);
  EXPECT_EQ(errno, ESRCH);
  EXPECT_FALSE(f.kept());  // closed after the failed read
}

}  // namespace
}  // namespace herd::manager
