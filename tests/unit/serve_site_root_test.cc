// SiteRoot (src/serve/site_root.h): what is opened below the served folder, through each kind
// of symbolic link, by openat2 and by the way without it (forced here, as on a kernel before
// 5.6): both must agree, and neither may open anything outside the root.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>
#include <string>

#include "serve/site_root.h"
#include "support/temp_dir.h"

namespace herd::serve {
namespace {

// base/
//   secret              outside the root
//   site/               the root
//     a.txt, index.html, sub/b.txt, empty/
//     in_link -> a.txt                 inside
//     abs_in_link -> <base>/site/a.txt inside, absolute
//     dir_link -> sub                  a folder inside
//     up_and_in -> ../site/a.txt       leaves and comes back: inside
//     out_link -> ../secret            outside
//     abs_out_link -> <base>/secret    outside, absolute
//     out_dir -> ..                    a folder outside
//     proc_link -> /proc/self/root/<base>/secret
//     dangling -> nowhere, loop -> loop, fifo (a FIFO)
class SiteRootTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    base_ = dir_.path();
    site_ = base_ + "/site";
    dir_.write("secret", "SECRET");
    dir_.write("site/a.txt", "A");
    dir_.write("site/index.html", "<p>home</p>");
    dir_.write("site/sub/b.txt", "B");
    ASSERT_EQ(::mkdir((site_ + "/empty").c_str(), 0755), 0);
    link("a.txt", "in_link");
    link(site_ + "/a.txt", "abs_in_link");
    link("sub", "dir_link");
    link("../site/a.txt", "up_and_in");
    link("../secret", "out_link");
    link(base_ + "/secret", "abs_out_link");
    link("..", "out_dir");
    link("/proc/self/root" + base_ + "/secret", "proc_link");
    link("nowhere", "dangling");
    link("loop", "loop");
    ASSERT_EQ(::mkfifo((site_ + "/fifo").c_str(), 0644), 0);
    auto root = SiteRoot::open(site_);
    ASSERT_TRUE(root) << root.error().message();
    root_.emplace(std::move(*root));
    root_->use_openat2_for_testing(GetParam());
  }

  void link(const std::string& target, const std::string& name) {
    ASSERT_EQ(::symlink(target.c_str(), (site_ + "/" + name).c_str()), 0) << name;
  }

  // The file's content, "<folder>", or the error's name.
  std::string open(const std::string& relative) {
    auto e = root_->open_entry(relative);
    if (!e) return std::string(e.error().code_name());
    if (e->folder) return "<folder>";
    char buf[64];
    ssize_t n = ::pread(e->file.get(), buf, sizeof(buf), 0);
    return n < 0 ? "read error" : std::string(buf, static_cast<std::size_t>(n));
  }

  test::TempDir dir_{"serve-root"};
  std::string base_, site_;
  std::optional<SiteRoot> root_;
};

TEST_P(SiteRootTest, FilesAndFoldersInside) {
  EXPECT_EQ(open(""), "<folder>");
  EXPECT_EQ(open("a.txt"), "A");
  EXPECT_EQ(open("sub"), "<folder>");
  EXPECT_EQ(open("sub/b.txt"), "B");
  EXPECT_EQ(open("empty"), "<folder>");
  EXPECT_EQ(open("missing"), "ENOENT");
  EXPECT_EQ(open("a.txt/x"), "ENOTDIR");
}

TEST_P(SiteRootTest, LinksThatStayInsideAreFollowed) {
  EXPECT_EQ(open("in_link"), "A");
  EXPECT_EQ(open("abs_in_link"), "A");
  EXPECT_EQ(open("dir_link"), "<folder>");
  EXPECT_EQ(open("dir_link/b.txt"), "B");
  EXPECT_EQ(open("up_and_in"), "A");
}

TEST_P(SiteRootTest, NothingOutsideIsOpened) {
  EXPECT_EQ(open("out_link"), "EXDEV");
  EXPECT_EQ(open("abs_out_link"), "EXDEV");
  EXPECT_EQ(open("out_dir"), "EXDEV");
  EXPECT_EQ(open("out_dir/secret"), "EXDEV");
  // Out and back in: what is opened is inside.
  EXPECT_EQ(open("out_dir/site/a.txt"), "A");
  std::string proc = open("proc_link");
  EXPECT_TRUE(proc == "EXDEV" || proc == "ELOOP") << proc;
}

TEST_P(SiteRootTest, WhatIsNotAFileIsNotThere) {
  EXPECT_EQ(open("dangling"), "ENOENT");
  EXPECT_EQ(open("loop"), "ELOOP");
  EXPECT_EQ(open("fifo"), "ENOENT");  // and opening it did not block
}

TEST_P(SiteRootTest, TheRootMayBeReachedThroughALink) {
  ASSERT_EQ(::symlink(site_.c_str(), (base_ + "/current").c_str()), 0);
  auto root = SiteRoot::open(base_ + "/current");
  ASSERT_TRUE(root);
  EXPECT_EQ(root->real_path(), site_);
  root->use_openat2_for_testing(GetParam());
  EXPECT_TRUE(root->open_entry("a.txt"));
  auto out = root->open_entry("out_link");
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code(), EXDEV);
}

TEST(SiteRoot, OpenRefusesWhatIsNoFolder) {
  test::TempDir dir("serve-root");
  std::string file = dir.write("f", "x");
  auto r = SiteRoot::open(file);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ENOTDIR);
  r = SiteRoot::open(dir.file("missing"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ENOENT);
}

INSTANTIATE_TEST_SUITE_P(Ways, SiteRootTest, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "Openat2" : "ProcCheck"; });

}  // namespace
}  // namespace herd::serve
