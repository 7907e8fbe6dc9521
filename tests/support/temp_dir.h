// TempDir: a fresh private directory under $TMPDIR (or /tmp) for one test, removed with
// everything in it when the object goes.
#pragma once

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

namespace herd::test {

class TempDir {
 public:
  // `prefix` names the directory ("/tmp/herd-<prefix>-XXXXXX"), to tell whose it is.
  explicit TempDir(const std::string& prefix = "test") {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/herd-" +
                       prefix + "-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // The path of `name` in it (nothing is created).
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  std::string operator/(const std::string& name) const { return file(name); }
  // Writes `text` to `name` (directories created as needed) with `mode`; returns the full path.
  std::string write(const std::string& name, const std::string& text, mode_t mode = 0644) const {
    std::string full = file(name);
    std::filesystem::create_directories(std::filesystem::path(full).parent_path());
    std::ofstream(full, std::ios::binary | std::ios::trunc) << text;
    ::chmod(full.c_str(), mode);
    return full;
  }

 private:
  std::string path_;
};

}  // namespace herd::test
