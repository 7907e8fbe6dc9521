#include "daemon/node_diagnostics.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <utility>
#include <vector>

namespace herd::manager {

NodeDiagnostics::NodeDiagnostics(EventLoop& loop, Send send)
    : loop_(loop), send_(std::move(send)), timer_(loop), random_(std::random_device{}()) {
  timer_.unref();
}

NodeDiagnostics::~NodeDiagnostics() { fail_all("the process ended before it answered"); }

void NodeDiagnostics::request(std::string_view kind, const std::string& file,
                              std::int64_t duration_ms, Done done) {
  // Not a counter: a program's own messages that look like answers ({"herd": "heapdump", "id":
  // 1}) must not be taken for one. 53 bits: a JavaScript number holds it exactly.
  std::uint64_t id = 0;
  while (id == 0 || pending_.contains(id)) id = random_() & ((std::uint64_t{1} << 53) - 1);
  nlohmann::json line = {{"cmd", "NODE_HERD"}, {"herd", kind}, {"id", id}, {"file", file}};
  if (duration_ms > 0) line["duration_ms"] = duration_ms;
  if (!send_(line.dump())) {
    done(std::unexpected(
        ErrorReply{ErrorCode::kIo,
                   "the app's IPC channel is closed or full: herd's preload cannot be asked"}));
    return;
  }
  std::uint64_t wait = static_cast<std::uint64_t>(std::max<std::int64_t>(duration_ms, 0));
  pending_.emplace(
      id, Pending{std::string(kind), file, loop_.now() + wait + kAnswerGraceMs, std::move(done)});
  arm();
}

void NodeDiagnostics::on_answer(const nlohmann::json& answer) {
  auto id_it = answer.find("id");
  if (id_it == answer.end() || !id_it->is_number_unsigned()) return;
  auto it = pending_.find(id_it->get<std::uint64_t>());
  if (it == pending_.end()) return;
  auto kind = answer.find("herd");
  if (kind == answer.end() || !kind->is_string() || *kind != it->second.kind) return;
  Pending p = std::move(it->second);
  pending_.erase(it);
  arm();
  if (auto e = answer.find("error"); e != answer.end()) {
    std::string why = e->is_string() ? e->get<std::string>() : std::string("no reason given");
    if (why.size() > 512) why.resize(512);
    p.done(std::unexpected(
        ErrorReply{ErrorCode::kIo, fmt::format("the app could not write {}: {}", p.file, why)}));
    return;
  }
  // The file is the app's word: check it is there (the path is the one herd sent).
  struct stat st {};
  if (::stat(p.file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    p.done(std::unexpected(
        ErrorReply{ErrorCode::kIo,
                   fmt::format("the app answered, but {} is not a file herd can see", p.file)}));
    return;
  }
  p.done(nlohmann::json{
      {"file", p.file}, {"bytes", static_cast<std::uint64_t>(st.st_size)}, {"kind", p.kind}});
}

void NodeDiagnostics::fail_all(const std::string& why) {
  // Taken out first: a callback may start another request.
  auto pending = std::exchange(pending_, {});
  timer_.stop();
  for (auto& [id, p] : pending) p.done(std::unexpected(ErrorReply{ErrorCode::kIo, why}));
}

void NodeDiagnostics::arm() {
  if (pending_.empty()) {
    timer_.stop();
    return;
  }
  std::uint64_t first = pending_.begin()->second.deadline_ms;
  for (const auto& [id, p] : pending_) first = std::min(first, p.deadline_ms);
  std::uint64_t now = loop_.now();
  timer_.start([this] { on_timer(); }, first > now ? first - now : 0);
}

void NodeDiagnostics::on_timer() {
  std::uint64_t now = loop_.now();
  std::vector<Pending> late;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second.deadline_ms <= now) {
      late.push_back(std::move(it->second));
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  arm();
  for (auto& p : late) {
    p.done(std::unexpected(
        ErrorReply{ErrorCode::kIo,
                   fmt::format("the app did not answer in time (no {} written to {})",
                               p.kind == "heapdump" ? "heap snapshot" : "CPU profile", p.file)}));
  }
}

}  // namespace herd::manager
