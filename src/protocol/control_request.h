// The edge of the control protocol: a request line becomes a request only if it is a JSON object
// of bounded nesting, its verb is in the verb table (verbs.h) and every field is one the verb
// takes, of the right type. read_control_request is the one place a line is refused.
//
// Pure functions (no I/O); any thread.
#pragma once

#include <cstddef>
#include <expected>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "protocol/error_code.h"
#include "protocol/verbs.h"

namespace herd::manager {

// Deeper arrays/objects are refused before they are built: nothing a verb reads nests more than
// a few levels, and a deep value would cost recursion when it is dumped back (the id) or freed.
inline constexpr std::size_t kMaxRequestDepth = 64;

// A request that passed the edge.
struct ControlRequest {
  const VerbSpec* verb;  // never null
  nlohmann::json id;     // echoed by the reply; null when the request had none
  nlohmann::json body;   // the whole request object, its fields checked
};

// A refused request: the error to answer, with the request's id when it had one.
struct RefusedRequest {
  nlohmann::json id;
  ErrorReply error;
};

// Parses, looks the verb up and checks the fields: E_BAD_REQUEST for a line that is not a
// request (parse_control_request) or a field that does not fit (check_control_request),
// E_UNKNOWN_VERB "unknown verb 'x'" for a verb the table does not have.
std::expected<ControlRequest, RefusedRequest> read_control_request(std::string_view line);

// Parses one request line: a JSON object with a string "verb", nested at most kMaxRequestDepth.
// The error is a sentence for E_BAD_REQUEST; `id` gets the request's id when the line was a
// valid object (null otherwise), so the error can still be matched by the client.
std::expected<nlohmann::json, std::string> parse_control_request(std::string_view line,
                                                                 nlohmann::json* id);

// Checks the fields of `req` against its verb's row of the table: "" when they fit, else a
// sentence naming the field ("\"count\" must be a string: ..."; "unknown field \"x\" for verb
// 'stop' (it takes: targets)"). A verb the table does not have is not this check's to refuse
// ("": read_control_request answers E_UNKNOWN_VERB); ping ignores fields it does not take
// (verbs.h).
std::string check_control_request(const nlohmann::json& req);

}  // namespace herd::manager
