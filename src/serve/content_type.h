// The Content-Type `herd serve` gives a file, from its extension.
//
// One table (content_type.cc), sorted by extension, of the types a web site serves: the names
// IANA registers today (text/javascript for .js and .mjs, font/woff2), PM2's table otherwise.
// text/* types say charset=utf-8. Extensions compare case-insensitively; a name without an
// extension, or one the table does not know, is application/octet-stream (a browser downloads
// it rather than guessing).
//
// Pure; any thread.
#pragma once

#include <span>
#include <string_view>

namespace herd::serve {

inline constexpr std::string_view kDefaultContentType = "application/octet-stream";

// `name` is a file name or a relative path ("css/site.css"); only its last segment counts.
std::string_view content_type_for(std::string_view name);

struct ContentTypeEntry {
  std::string_view extension;  // lower case, without the dot
  std::string_view type;
};
// The table, for its tests.
std::span<const ContentTypeEntry> content_type_table();

}  // namespace herd::serve
