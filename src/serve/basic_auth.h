// HTTP Basic authentication (RFC 7617) for `herd serve --basic-auth-username U
// --basic-auth-password P`.
//
// Pure; any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace herd::serve {

// Standard base64 (with or without '=' padding) decoded; nullopt for anything else.
std::optional<std::string> decode_base64(std::string_view text);

// Equal, in a time that depends on the lengths only, never on where the bytes differ.
bool constant_time_equals(std::string_view given, std::string_view expected);

// Whether an Authorization header value ("Basic dTpw") carries exactly `user`:`password`. The
// scheme compares case-insensitively; the user is what comes before the first ':' of the
// decoded credentials, the password everything after it. A missing header, another scheme or a
// token that is not base64 do not match.
bool basic_auth_matches(std::optional<std::string_view> header, std::string_view user,
                        std::string_view password);

}  // namespace herd::serve
