// tail_lines: the last lines of a log file, for `herd logs --lines N`.
//
// Reads the file backwards in blocks (pread), so the cost follows the lines asked for, not the
// file's size. A last line without '\n' counts as a line. When `path` has fewer than `n` lines,
// the rest come from the end of its newest rotated file, `path.1` (see RotatingFile), so the
// lines just before a rotation are not lost to `herd logs`; older rotated files are not read.
// A missing file counts as empty. Lines come without '\n', oldest first.
//
// A rotation between reading `path.1` and `path` (the daemon writes while a CLI reads) can show
// a few lines twice or skip some; tail_lines reads, it does not lock.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "herd/base/error.h"

namespace herd::manager {

// Fails with the error of a file that exists but cannot be read (EACCES, EISDIR...).
Result<std::vector<std::string>> tail_lines(const std::string& path, std::size_t n);

// The same for one file only: no look into `path.1`.
Result<std::vector<std::string>> tail_file_lines(const std::string& path, std::size_t n);

}  // namespace herd::manager
