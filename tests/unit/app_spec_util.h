// Test helpers for the app-description tests: a temporary directory that removes itself.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "support/temp_dir.h"

namespace herd::manager::test {

using herd::test::TempDir;

// Replaces every "$D" in `text` with `dir`.
inline std::string with_dir(std::string text, const std::string& dir) {
  for (std::size_t at = text.find("$D"); at != std::string::npos; at = text.find("$D", at)) {
    text.replace(at, 2, dir);
    at += dir.size();
  }
  return text;
}

}  // namespace herd::manager::test
