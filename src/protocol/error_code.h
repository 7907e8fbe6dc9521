// The control protocol's error codes (docs/control-protocol.md, "Error codes"): a stable code for
// scripts beside a message for people. On the wire a code is its text ("E_UNKNOWN_TARGET"); in
// herd it is an ErrorCode, turned into text and back only here.
//
// Pure functions; any thread.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace herd::manager {

enum class ErrorCode : std::uint8_t {
  kBadRequest,
  kInternal,
  kUnknownVerb,
  kNoTarget,
  kUnknownTarget,
  kBadTarget,
  kAppExists,
  kSpawn,
  kListen,
  kSignal,
  kReload,
  kIo,
  kNoDump,
  kSaveEmpty,
  kPermission,
  kQuitting,
  kUpdate,
  kBusy,
  // Never sent by the daemon: the CLI's own failures (no daemon, a broken connection), and a
  // reply whose code this herd does not know (a newer daemon's).
  kClient,
  kUnknown,
};

// "E_BAD_REQUEST" for kBadRequest, and so on.
std::string_view error_code_text(ErrorCode code);
// The code whose text is `text`; nullopt for any other text.
std::optional<ErrorCode> error_code_from_text(std::string_view text);

// A reply's "error": {"code", "message"}.
struct ErrorReply {
  ErrorCode code = ErrorCode::kUnknown;
  std::string message;
};

// {"code": "E_...", "message": "..."}.
void to_json(nlohmann::json& j, const ErrorReply& e);
// A code this herd does not know (or none) reads as kUnknown; a missing message as "".
void from_json(const nlohmann::json& j, ErrorReply& e);

}  // namespace herd::manager
