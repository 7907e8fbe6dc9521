#include "daemon/notify_socket.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "herd/base/log.h"

namespace herd::manager {

NotifySocket::NotifySocket(EventLoop& loop) : loop_(loop) {}

NotifySocket::~NotifySocket() {
  watcher_.reset();
  if (!path_.empty()) unlink_if_same(path_, path_id_);
}

Status NotifySocket::bind(const std::string& path, MessageCallback cb) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    return fail(ENAMETOOLONG, "notify socket path " + path + " is longer than 107 bytes");
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  auto fd = Fd::socket(AF_UNIX, SOCK_DGRAM);
  if (!fd) return std::unexpected(fd.error());
  ::unlink(path.c_str());  // a datagram socket file left by a dead daemon
  if (::bind(fd->get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0) {
    return fail_errno("bind notify socket " + path);
  }
  int on = 1;
  if (::setsockopt(fd->get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) < 0) {
    return fail_errno("SO_PASSCRED on " + path);
  }
  // A burst of READY=1 from many instances must not be dropped.
  int buf = 1 << 20;
  ::setsockopt(fd->get(), SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
  fd_ = std::move(*fd);
  path_ = path;
  path_id_ = file_id(path);
  cb_ = std::move(cb);
  watcher_ = std::make_unique<IoWatcher>(loop_, fd_.get());
  watcher_->unref();  // the daemon's control socket keeps it alive, not this
  watcher_->set_callback([this](std::uint32_t) { on_readable(); });
  return watcher_->start(kReadable);
}

void NotifySocket::on_readable() {
  // Bounded per event so that a flood of datagrams cannot monopolise the daemon's loop.
  for (int i = 0; i < 64; ++i) {
    char data[4096];
    iovec iov{data, sizeof(data) - 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n = ::recvmsg(fd_.get(), &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0) {
      if (errno != EAGAIN && errno != EINTR) log_warn("notify socket: {}", std::strerror(errno));
      return;
    }
    pid_t sender = 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
        ucred cred;
        std::memcpy(&cred, CMSG_DATA(c), sizeof(cred));
        sender = cred.pid;
      } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
        // sd_notify may pass descriptors (FDSTORE); we do not keep them.
        int count = static_cast<int>((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (int k = 0; k < count; ++k) {
          int fd;
          std::memcpy(&fd, CMSG_DATA(c) + k * sizeof(int), sizeof(int));
          ::close(fd);
        }
      }
    }
    if (sender <= 0) continue;  // without credentials we cannot tell who spoke
    cb_(sender, std::string_view(data, static_cast<std::size_t>(n)));
  }
}

bool find_notify_field(std::string_view payload, std::string_view key, std::string_view* value) {
  while (!payload.empty()) {
    std::size_t nl = payload.find('\n');
    std::string_view line = payload.substr(0, nl);
    if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == '=') {
      *value = line.substr(key.size() + 1);
      return true;
    }
    if (nl == std::string_view::npos) break;
    payload.remove_prefix(nl + 1);
  }
  return false;
}

}  // namespace herd::manager
