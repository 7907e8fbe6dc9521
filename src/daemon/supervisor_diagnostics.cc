// The Supervisor's diagnostic verbs, heapdump and profile (docs/diagnostics.md): the target and
// the file checked here, the rest asked of the instance (Instance::diagnose).
#include <fmt/format.h>
#include <sys/stat.h>

#include <string>

#include "daemon/supervisor.h"
#include "daemon/supervisor_internal.h"

namespace herd::manager {

using detail::verb_error;

namespace {

// Why herd will not ask for `file`, or "". The folder must exist; the file must not (an existing
// file is never overwritten: the app may run as another user than the one asking). Whether the
// app's user may write there only the app can tell.
std::string check_file(const std::string& file) {
  if (file.empty() || file.front() != '/') {
    return fmt::format("file: expected an absolute path, got \"{}\"", file);
  }
  if (file.size() > 4000 || file.find('\n') != std::string::npos ||
      file.find('\0') != std::string::npos) {
    return "file: the path is too long or holds a newline or NUL byte";
  }
  if (file.back() == '/') return fmt::format("file: \"{}\" names a folder, not a file", file);
  std::size_t slash = file.find_last_of('/');
  std::string dir = slash == 0 ? std::string("/") : file.substr(0, slash);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return fmt::format("file: the folder {} does not exist", dir);
  }
  if (::lstat(file.c_str(), &st) == 0) {
    return fmt::format("file: {} already exists; give another path", file);
  }
  return "";
}

}  // namespace

void Supervisor::diagnose(Verb verb, const DiagnosticRequest& request, Reply done) {
  const bool heap = verb == Verb::kHeapdump;
  if (std::string bad = check_file(request.file); !bad.empty()) {
    return done(std::unexpected(verb_error(ErrorCode::kBadRequest, std::move(bad))));
  }
  if (!heap && (request.duration_ms < 1 || request.duration_ms > kMaxProfileMs)) {
    return done(std::unexpected(verb_error(
        ErrorCode::kBadRequest, fmt::format("duration: expected 1 ms to {} min, got {} ms",
                                            kMaxProfileMs / 60000, request.duration_ms))));
  }
  auto list = resolve({request.target});
  if (!list) return done(std::unexpected(list.error()));
  if (list->size() != 1) {
    return done(std::unexpected(verb_error(
        ErrorCode::kBadTarget, fmt::format("'{}' matches {} processes; {} takes one id",
                                           request.target, list->size(), verb_name(verb)))));
  }
  Instance* inst = (*list)[0];
  inst->diagnose(verb_name(verb), request.file, heap ? 0 : request.duration_ms,
                 [done = std::move(done), name = inst->app().name,
                  id = inst->id()](std::expected<nlohmann::json, ErrorReply> r) {
                   if (!r) return done(std::unexpected(r.error()));
                   (*r)["name"] = name;
                   (*r)["pm_id"] = id;
                   done(std::move(*r));
                 });
}

}  // namespace herd::manager
