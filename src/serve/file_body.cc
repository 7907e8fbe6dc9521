#include "serve/file_body.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "herd/base/log.h"

namespace herd::serve {
namespace {

constexpr std::uint64_t kPiece = 64 * 1024;

// One body on its way out. Owned by the drain callback while it waits (the Response drops the
// callback at end() and when the connection closes, which frees this).
class FileBody : public std::enable_shared_from_this<FileBody> {
 public:
  FileBody(http::Response res, Fd file, std::uint64_t offset, std::uint64_t length)
      : res_(std::move(res)), file_(std::move(file)), offset_(offset), left_(length) {}

  // Writes pieces until the body is done or the connection asks to wait.
  void pump() {
    while (left_ > 0) {
      if (!res_.connected()) {
        res_.end();  // nobody to send to: a no-op that lets the Response go quietly
        return;
      }
      std::size_t want = static_cast<std::size_t>(std::min(left_, kPiece));
      buffer_.resize(want);
      ssize_t n = ::pread(file_.get(), buffer_.data(), want, static_cast<off_t>(offset_));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        log_warn("serve: reading a file at offset {}: {}; closing the connection", offset_,
                 n == 0 ? "it ended early" : std::strerror(errno));
        http::Response dropped = std::move(res_);  // dropped mid-body: the connection closes
        return;
      }
      auto got = static_cast<std::uint64_t>(n);
      offset_ += got;
      left_ -= got;
      std::string_view piece(buffer_.data(), got);
      if (left_ == 0) {
        res_.end(piece);
        return;
      }
      if (!res_.write(piece)) {
        res_.on_drain([self = shared_from_this()] { self->pump(); });
        return;
      }
    }
    res_.end();
  }

 private:
  http::Response res_;
  Fd file_;
  std::uint64_t offset_;
  std::uint64_t left_;
  std::string buffer_;
};

}  // namespace

void send_file_body(http::Response res, Fd file, std::uint64_t offset, std::uint64_t length) {
  std::make_shared<FileBody>(std::move(res), std::move(file), offset, length)->pump();
}

}  // namespace herd::serve
