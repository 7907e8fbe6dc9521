// Durable files of the daemon: written atomically, read with a fallback.
#pragma once

#include <string>
#include <string_view>

#include "herd/error.h"

namespace herd::manager {

// Replaces `path` with `content` so that a crash at any point leaves either the old or the new
// file, whole: write `path.tmp`, fsync it, keep the current file as `path.bak` (when
// `keep_backup`), rename the temp file over `path`, fsync the directory. Mode 0600.
Status write_file_atomic(const std::string& path, std::string_view content, bool keep_backup);

Result<std::string> read_file(const std::string& path);

}  // namespace herd::manager
