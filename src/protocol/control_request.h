// The edge of the control protocol: a request line becomes a JSON object only if its nesting is
// bounded, and its fields are checked against what the verb's handler reads before it runs.
//
// Pure functions (no I/O); any thread.
#pragma once

#include <cstddef>
#include <expected>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace herd::manager {

// Deeper arrays/objects are refused before they are built: nothing a verb reads nests more than
// a few levels, and a deep value would cost recursion when it is dumped back (the id) or freed.
inline constexpr std::size_t kMaxRequestDepth = 64;

// Parses one request line: a JSON object with a string "verb", nested at most kMaxRequestDepth.
// The error is a sentence for E_BAD_REQUEST; `id` gets the request's id when the line was a
// valid object (null otherwise), so the error can still be matched by the client.
std::expected<nlohmann::json, std::string> parse_control_request(std::string_view line,
                                                                 nlohmann::json* id);

// Checks the type (and range) of every field the verb `req["verb"]` reads: "" when they fit,
// else a sentence naming the field ("\"count\" must be a string such as \"4\", \"+2\" or
// \"-1\""). Unknown verbs and unknown fields pass: the handler answers E_UNKNOWN_VERB, and
// extra fields are ignored, as the protocol always allowed.
std::string check_control_request(const nlohmann::json& req);

// The request's "targets" as strings (ids given as numbers too), after check_control_request.
std::vector<std::string> targets_of(const nlohmann::json& req);

}  // namespace herd::manager
