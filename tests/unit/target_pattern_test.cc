// /regex/ targets: bounded in length, no back-references, matched without backtracking.
#include "app/target_pattern.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace herd::manager {
namespace {

TEST(TargetPatternTest, RegexTargetsAreRecognized) {
  EXPECT_TRUE(is_target_regex("/web/"));
  EXPECT_TRUE(is_target_regex("//"));
  EXPECT_FALSE(is_target_regex("/"));
  EXPECT_FALSE(is_target_regex("web"));
  EXPECT_FALSE(is_target_regex("/web"));
}

TEST(TargetPatternTest, RegexTargetsMatchLikeJavaScript) {
  auto re = compile_target_regex("/^worker-\\d+$/");
  ASSERT_TRUE(re) << re.error().context();
  EXPECT_TRUE(std::regex_search("worker-12", *re));
  EXPECT_FALSE(std::regex_search("worker-x", *re));
  auto any = compile_target_regex("//");
  ASSERT_TRUE(any);
  EXPECT_TRUE(std::regex_search("web", *any));
  auto alt = compile_target_regex("/(api|web)(-v\\d)?$/");
  ASSERT_TRUE(alt);
  EXPECT_TRUE(std::regex_search("my-api-v2", *alt));
}

TEST(TargetPatternTest, RegexTargetsAreBoundedInTimeAndStack) {
  // Exponential for a backtracking matcher; here each takes well under a second.
  const std::string name = std::string(28, 'a') + "!";
  const std::string longest(128, 'a');
  for (const char* target : {"/(a+)+$/", "/(a|a)+$/", "/(a*)*b/", "/(.*)*x/",
                             "/.*.*.*.*.*.*.*.*.*.*z/", "/((a+)+)+$/"}) {
    SCOPED_TRACE(target);
    auto re = compile_target_regex(target);
    ASSERT_TRUE(re) << re.error().context();
    auto start = std::chrono::steady_clock::now();
    (void)std::regex_search(name, *re);
    (void)std::regex_search(longest + "!", *re);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  }
  // Too long to compile safely (the compiler recurses per term): refused, not crashed.
  auto huge = compile_target_regex(std::string("/").append(100000, 'a').append("/"));
  ASSERT_FALSE(huge);
  EXPECT_EQ(huge.error().code(), EINVAL);
  EXPECT_NE(huge.error().context().find("longer than 256"), std::string::npos);
  EXPECT_LT(huge.error().context().size(), 200u) << "the message does not echo it all";
  EXPECT_TRUE(compile_target_regex(std::string("/").append(256, 'a').append("/")));
  EXPECT_FALSE(compile_target_regex(std::string("/").append(257, 'a').append("/")));
}

// Found by fuzz/target_fuzz.cc: libstdc++ copies a counted repetition's atom into the automaton
// once per count, and matching time grows with the automaton, so a short pattern could hold the
// daemon for seconds per name (/(.*.*.*.*.*.*.*.*.*.*){3000}=/: 15 s against a 128-byte name).
TEST(TargetPatternTest, CountedRepetitionsCountAsWrittenOut) {
  for (const char* target :
       {"/(.*.*.*.*.*.*.*.*.*.*){3000}=/", "/.*{1000}.*=.*/", "/a{257}/", "/(ab){129}/",
        "/((a{10}){10}){10}/", "/[a-z]{60,}/", "/a{100}{100}/", "/\\d{99999999999999999999}/"}) {
    SCOPED_TRACE(target);
    auto re = compile_target_regex(target);
    ASSERT_FALSE(re);
    EXPECT_EQ(re.error().code(), EINVAL);
    EXPECT_NE(re.error().context().find("counted repetitions"), std::string::npos)
        << re.error().context();
  }
  // Within the limit once written out: accepted, and quick on the longest name.
  const std::string longest(128, 'a');
  for (const char* target :
       {"/^web-\\d{1,3}$/", "/a{256}/", "/(ab){60}/", "/[a-z]{2,30}/", "/x{3}y{3}/", "/.*{30}=/"}) {
    SCOPED_TRACE(target);
    auto re = compile_target_regex(target);
    ASSERT_TRUE(re) << re.error().context();
    auto start = std::chrono::steady_clock::now();
    (void)std::regex_search(longest, *re);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  }
}

TEST(TargetPatternTest, BackReferencesAndBadSyntaxAreRefused) {
  auto back = compile_target_regex("/(a)\\1/");
  ASSERT_FALSE(back);
  EXPECT_NE(back.error().context().find("back-references"), std::string::npos)
      << back.error().context();
  // Found by fuzz/target_fuzz.cc (UBSan): libstdc++ reads a back-reference's or a count's digits
  // into a long that overflows before it reports anything; refused before it reads them.
  for (const char* target : {"/(a)\\99999999999999999999/", "/({48888888888888888880})/",
                             "/a{99999999999999999999/", "/a{1,99999999999999999999}/"}) {
    SCOPED_TRACE(target);
    auto re = compile_target_regex(target);
    ASSERT_FALSE(re);
    EXPECT_EQ(re.error().code(), EINVAL);
  }
  auto bad = compile_target_regex("/(unclosed/");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().context().find("/(unclosed/ is not a valid regex"), std::string::npos);
}

}  // namespace
}  // namespace herd::manager
