// Test helpers for the app-description tests: a temporary directory that removes itself.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace herd::manager::test {

// A fresh directory under /tmp (mkdtemp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/herd-spec-XXXXXX";
    const char* made = ::mkdtemp(pattern);
    EXPECT_NE(made, nullptr);
    path_ = made != nullptr ? made : "/tmp";
  }
  ~TempDir() {
    std::error_code ec;
    if (path_ != "/tmp") std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

  // Writes `text` to `name` (directories created as needed) with `mode`; returns the full path.
  std::string write(const std::string& name, const std::string& text, mode_t mode = 0644) const {
    std::string full = *this / name;
    std::filesystem::create_directories(std::filesystem::path(full).parent_path());
    std::ofstream(full, std::ios::binary | std::ios::trunc) << text;
    ::chmod(full.c_str(), mode);
    return full;
  }

 private:
  std::string path_;
};

// Replaces every "$D" in `text` with `dir`.
inline std::string with_dir(std::string text, const std::string& dir) {
  for (std::size_t at = text.find("$D"); at != std::string::npos; at = text.find("$D", at)) {
    text.replace(at, 2, dir);
    at += dir.size();
  }
  return text;
}

}  // namespace herd::manager::test
