#include "cli/update_cmd.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <thread>

namespace herd::cli {

Client::CallResult request_update(Client& client, const std::vector<std::string>& args) {
  char self[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  std::string binary = n > 0 ? std::string(self, static_cast<std::size_t>(n)) : "";
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--binary" && i + 1 < args.size()) {
      binary = args[++i];
    } else {
      return std::unexpected(manager::ErrorReply{
          manager::ErrorCode::kClient,
          fmt::format("unknown argument '{}' for update (--binary PATH)", args[i])});
    }
  }
  if (!binary.empty() && binary[0] != '/') {
    char cwd[PATH_MAX];
    if (::getcwd(cwd, sizeof(cwd)) != nullptr) binary = std::string(cwd) + "/" + binary;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    auto r = client.call(manager::Verb::kUpdate, manager::UpdateRequest{binary});
    if (r || r.error().code != manager::ErrorCode::kBusy ||
        std::chrono::steady_clock::now() > deadline) {
      return r;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace herd::cli
