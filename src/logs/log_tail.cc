#include "logs/log_tail.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string_view>

#include "herd/base/fd.h"

namespace herd::manager {
namespace {

constexpr std::size_t kBlock = 64 * 1024;

}  // namespace

Result<std::vector<std::string>> tail_file_lines(const std::string& path, std::size_t n) {
  std::vector<std::string> lines;
  if (n == 0) return lines;
  auto fd = Fd::open(path.c_str(), O_RDONLY);
  if (!fd) {
    if (fd.error().code() == ENOENT) return lines;
    return std::unexpected(fd.error());
  }
  struct stat st;
  if (::fstat(fd->get(), &st) < 0) return fail_errno(fmt::format("fstat {}", path));
  if (S_ISDIR(st.st_mode)) return fail(EISDIR, fmt::format("read {}", path));
  auto end = static_cast<std::uint64_t>(st.st_size);

  // Walk back block by block from the end. Stop once the blocks hold n line ends before the
  // last line (n+1 counting the last line's own '\n'), or at the start of the file. What is
  // read is what the asked-for lines need, plus at most one block.
  std::vector<std::string> blocks;  // newest first
  std::uint64_t pos = end;
  std::size_t newlines = 0;
  // The last byte's '\n' ends the last line; it does not start a new (empty) one.
  bool ends_with_newline = false;
  std::size_t needed = n;  // line ends to find before the last line starts
  while (pos > 0) {
    std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(pos, kBlock));
    pos -= len;
    std::string block(len, '\0');
    std::size_t got = 0;
    while (got < len) {
      ssize_t r = ::pread(fd->get(), block.data() + got, len - got, static_cast<off_t>(pos + got));
      if (r < 0) {
        if (errno == EINTR) continue;
        return fail_errno(fmt::format("read {}", path));
      }
      if (r == 0) break;  // truncated meanwhile: keep what was read
      got += static_cast<std::size_t>(r);
    }
    block.resize(got);
    if (blocks.empty() && pos + got == end && !block.empty() && block.back() == '\n') {
      ends_with_newline = true;
      needed = n + 1;
    }
    newlines += static_cast<std::size_t>(std::count(block.begin(), block.end(), '\n'));
    blocks.push_back(std::move(block));
    if (newlines >= needed) break;
  }
  std::string tail;
  for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) tail += *it;

  std::string_view text(tail);
  if (ends_with_newline) text.remove_suffix(1);
  if (text.empty() && !ends_with_newline) return lines;
  // Split from the end. The piece before the first '\n' may be a line cut at the block edge,
  // but it is reached only when the walk stopped at the file's start (then it is whole): had it
  // stopped earlier, `text` would hold at least n line ends after it.
  std::vector<std::string_view> rev;
  while (rev.size() < n) {
    std::size_t nl = text.rfind('\n');
    if (nl == std::string_view::npos) {
      rev.push_back(text);
      break;
    }
    rev.push_back(text.substr(nl + 1));
    text = text.substr(0, nl);
  }
  lines.reserve(rev.size());
  for (auto it = rev.rbegin(); it != rev.rend(); ++it) lines.emplace_back(*it);
  return lines;
}

Result<std::vector<std::string>> tail_lines(const std::string& path, std::size_t n) {
  auto current = tail_file_lines(path, n);
  if (!current) return current;
  if (current->size() >= n) return current;
  auto older = tail_file_lines(path + ".1", n - current->size());
  if (!older) return older;
  older->insert(older->end(), std::make_move_iterator(current->begin()),
                std::make_move_iterator(current->end()));
  return older;
}

}  // namespace herd::manager
