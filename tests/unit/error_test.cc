#include "herd/base/error.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <expected>

namespace herd {
namespace {

TEST(Error, FromErrnoKeepsCodeAndContext) {
  errno = ECONNREFUSED;
  Error e = Error::from_errno("connect 127.0.0.1:1");
  EXPECT_EQ(e.code(), ECONNREFUSED);
  EXPECT_EQ(e.context(), "connect 127.0.0.1:1");
  EXPECT_EQ(e.message(), "connect 127.0.0.1:1: Connection refused");
  EXPECT_EQ(e.code_name(), "ECONNREFUSED");
}

TEST(Error, ZeroErrnoNeverReadsAsSuccess) {
  errno = 0;
  EXPECT_NE(Error::from_errno("x").code(), 0);
}

TEST(Error, ResultCarriesValueOrError) {
  auto ok = []() -> Result<int> { return 42; }();
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(*ok, 42);
  auto bad = []() -> Result<int> { return fail(EINVAL, "port \"x\" is not a number"); }();
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), EINVAL);
  EXPECT_EQ(bad.error().message(), "port \"x\" is not a number: Invalid argument");
  Status s = {};
  EXPECT_TRUE(s.has_value());
}

TEST(Error, ResultConvertsToAndFromStdExpected) {
  std::expected<int, Error> plain = 7;
  Result<int> r = plain;
  EXPECT_EQ(*r, 7);
  std::expected<int, Error> back = r;
  EXPECT_EQ(*back, 7);
  r = fail(EBADF, "closed");
  EXPECT_EQ(r.error().code(), EBADF);
  Status s = std::expected<void, Error>();
  EXPECT_TRUE(s);
}

TEST(Error, UnknownCodeStillFormats) {
  Error e(99999, "odd");
  EXPECT_NE(e.message().find("odd"), std::string::npos);
  EXPECT_FALSE(e.code_name().empty());
}

}  // namespace
}  // namespace herd
