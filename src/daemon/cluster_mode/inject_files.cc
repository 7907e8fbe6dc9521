#include "daemon/cluster_mode/inject_files.h"

#include <elf.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "app/command.h"
#include "herd/base/fd.h"

namespace herd::manager {
namespace {

std::string inject_dir() {
  if (const char* env = std::getenv("HERD_INJECT_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  char exe[4096];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n <= 0) return "/usr/local/lib/herd";
  std::string path(exe, static_cast<std::size_t>(n));
  std::string bin = path.substr(0, path.rfind('/'));
  std::string prefix = bin.substr(0, bin.rfind('/'));
  return prefix + "/lib/herd";
}

bool read_at(int fd, void* out, std::size_t size, off_t offset) {
  return ::pread(fd, out, size, offset) == static_cast<ssize_t>(size);
}

}  // namespace

Result<InjectFiles> find_inject_files() {
  std::string dir = inject_dir();
  InjectFiles files{dir + "/libherd-inject.so", dir + "/herd-node-preload.js"};
  for (const std::string* f : {&files.library, &files.node_preload}) {
    if (::access(f->c_str(), R_OK) != 0) return fail_errno(*f);
  }
  return files;
}

bool is_static_executable(const std::string& program) {
  int raw = ::open(program.c_str(), O_RDONLY | O_CLOEXEC);
  if (raw < 0) return false;
  Fd fd(raw);
  Elf64_Ehdr eh;
  if (!read_at(fd.get(), &eh, sizeof(eh), 0) || std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) {
    return false;
  }
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr)) return false;
  if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) return false;
  for (int i = 0; i < eh.e_phnum && i < 256; ++i) {
    Elf64_Phdr ph;
    if (!read_at(fd.get(), &ph, sizeof(ph), static_cast<off_t>(eh.e_phoff + i * sizeof(ph)))) {
      return false;
    }
    if (ph.p_type == PT_INTERP) return false;  // the dynamic linker loads it: preloadable
  }
  // No interpreter: static (a static-pie too, though it has a dynamic section).
  return true;
}

std::optional<std::string> injection_warning(const AppSpec& spec) {
  if (spec.exec_mode != ExecMode::kCluster || !spec.inject || !spec.listen.empty()) {
    return std::nullopt;
  }
  auto cmd = resolve_command(spec);
  if (!cmd || cmd->interpreter != "none" || !is_static_executable(cmd->program)) {
    return std::nullopt;
  }
  return fmt::format(
      "app '{}': {} is statically linked, so herd cannot hand it its socket when it binds; its "
      "instances would each bind the port themselves. Give herd the address with --listen ADDR "
      "(ecosystem: listen) and have the program take it from LISTEN_FDS (Go: "
      "github.com/coreos/go-systemd/activation), or run one instance",
      spec.name, cmd->program);
}

}  // namespace herd::manager
