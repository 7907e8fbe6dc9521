// `herd heapdump` and `herd profile` for one instance of a Node app (docs/diagnostics.md): the
// requests sent to herd's preload in the app over its Node IPC channel, and their answers.
//
// The daemon sends one line, {"cmd":"NODE_HERD","herd":"heapdump"|"profile","id":N,"file":...,
// "duration_ms":...}; the preload writes the file (v8.writeHeapSnapshot; the inspector's
// Profiler) and answers {"herd":<same>,"id":N,"file":...} or {...,"error":"..."}. A "cmd"
// starting with NODE_ makes Node hand the message to its internal listeners only, so the
// program's own process.on('message') never sees herd's requests.
//
// Nothing here waits: each request is answered through its callback exactly once, when the
// answer comes, when its deadline passes (the snapshot's time, or the profile's duration, plus
// kAnswerGraceMs), when the process ends (fail_all), or when this object is destroyed.
//
// Threads: the daemon's loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <string_view>

#include "herd/loop/event_loop.h"
#include "herd/loop/timer.h"
#include "protocol/error_code.h"

namespace herd::manager {

class NodeDiagnostics {
 public:
  // The reply's result ({"file": path, "bytes": size}) or its error.
  using Done = std::function<void(std::expected<nlohmann::json, ErrorReply>)>;
  // Writes one JSON line on the app's IPC channel; false when it could not.
  using Send = std::function<bool(std::string_view line)>;

  // How long after the profile's end (or after a heap snapshot's request) an answer may take:
  // a big heap's snapshot takes that long to write.
  static constexpr std::uint64_t kAnswerGraceMs = 120'000;

  NodeDiagnostics(EventLoop& loop, Send send);
  ~NodeDiagnostics();  // every pending request fails: "the process ended"
  NodeDiagnostics(const NodeDiagnostics&) = delete;
  NodeDiagnostics& operator=(const NodeDiagnostics&) = delete;

  // Asks for a heap snapshot ("heapdump") or a CPU profile of `duration_ms` ("profile") in
  // `file`. `done` may run before this returns (the channel refused the line).
  void request(std::string_view kind, const std::string& file, std::int64_t duration_ms, Done done);
  // An answer from the preload ({"herd": "heapdump"|"profile", "id": ...}); an answer to no
  // pending request (late, or made up by the program) is ignored.
  void on_answer(const nlohmann::json& answer);
  // The process ended: every pending request fails with `why`.
  void fail_all(const std::string& why);
  bool busy() const { return !pending_.empty(); }

 private:
  struct Pending {
    std::string kind;
    std::string file;
    std::uint64_t deadline_ms;
    Done done;
  };
  void arm();
  void on_timer();

  EventLoop& loop_;
  Send send_;
  Timer timer_;
  std::mt19937_64 random_;  // request ids
  std::map<std::uint64_t, Pending> pending_;
};

}  // namespace herd::manager
