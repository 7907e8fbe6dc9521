// Durable files of the daemon: written atomically, read with a fallback.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "herd/base/error.h"

namespace herd::manager {

// Replaces `path` with `content` so that a crash at any point leaves either the old or the new
// file, whole: write `path.tmp` (a leftover one removed first; created O_EXCL|O_NOFOLLOW, so a
// symlink there is never followed), fsync it; when `keep_backup`, hard-link the current file to
// `path.bak.tmp` and rename that over `path.bak` (a complete .bak exists at every instant);
// rename the temp file over `path` (which replaces a symlink there, never its target); fsync
// the directory. Mode 0600.
Status write_file_atomic(const std::string& path, std::string_view content, bool keep_backup);

// The same replacement, whole or not at all, without the fsyncs and without a backup: for files
// that describe processes running now (an instance's pid file), which a machine crash makes
// stale anyway. Two fsyncs per spawn cost about 10 ms each on a busy disk: 1,000 instances
// started at once waited 10 s for them.
Status write_file_replace(const std::string& path, std::string_view content);

// The whole file; ELOOP when `path` is a symlink (herd's own files never are).
Result<std::string> read_file(const std::string& path);

// Which file `path` names now (lstat: device and inode); nullopt when none.
using FileId = std::pair<dev_t, ino_t>;
std::optional<FileId> file_id(const std::string& path);
// Removes `path` only while it still names the file `id` (what this process created there):
// a socket of a daemon whose home was replaced is not another daemon's to remove.
void unlink_if_same(const std::string& path, const std::optional<FileId>& id);

}  // namespace herd::manager
