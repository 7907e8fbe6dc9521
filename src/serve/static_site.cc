#include "serve/static_site.h"

#include <fmt/format.h>

#include <cerrno>
#include <string_view>
#include <utility>

#include "herd/base/log.h"
#include "serve/basic_auth.h"
#include "serve/byte_range.h"
#include "serve/content_type.h"
#include "serve/file_body.h"
#include "serve/http_date.h"
#include "serve/request_path.h"

namespace herd::serve {

struct StaticSite::Ask {
  const http::Request& req;
  http::Response& res;
  bool head;
};

namespace {

constexpr std::string_view kIndex = "index.html";
constexpr std::string_view kNotFoundPage = "404.html";

// How a failure to open becomes a status: 404 for what is not there, 403 for what may not be
// read (a link out of the root included), 500 for the rest.
int status_for(const Error& e) {
  switch (e.code()) {
    case ENOENT:
    case ENOTDIR:
    case ENAMETOOLONG:
    case ELOOP:
      return 404;
    case EXDEV:
    case EACCES:
    case EPERM:
      return 403;
    default:
      return 500;
  }
}

// If-Modified-Since not older than the file: 304. Ignored when If-None-Match is present (RFC
// 9110, 13.1.3): herd sends no ETag, so no entity tag of the client's can match.
bool not_modified(const http::Request& req, std::int64_t mtime) {
  if (req.header("If-None-Match")) return false;
  auto since = req.header("If-Modified-Since");
  if (!since) return false;
  auto date = parse_http_date(*since);
  return date && mtime <= *date;
}

// The Range to honour; If-Range with anything but this Last-Modified date sends the whole file.
RangeAnswer range_of(const http::Request& req, std::uint64_t size, const std::string& modified) {
  auto range = req.header("Range");
  if (!range) return {};
  if (auto if_range = req.header("If-Range"); if_range && *if_range != modified) return {};
  return parse_range(*range, size);
}

}  // namespace

Result<std::unique_ptr<StaticSite>> StaticSite::open(SiteOptions options) {
  auto root = SiteRoot::open(options.root);
  if (!root) return std::unexpected(root.error());
  return std::unique_ptr<StaticSite>(new StaticSite(std::move(options), std::move(*root)));
}

void StaticSite::handle(const http::Request& req, http::Response res) {
  Ask ask{req, res, req.method() == "HEAD"};
  res.set_header("X-Content-Type-Options", "nosniff");
  if (!options_.user.empty() && !options_.password.empty() &&
      !basic_auth_matches(req.header("Authorization"), options_.user, options_.password)) {
    return answer_error(ask, 401, "WWW-Authenticate", "Basic realm=\"Authentication service\"");
  }
  if (req.method() != "GET" && !ask.head) return answer_error(ask, 405, "Allow", "GET, HEAD");
  auto path = resolve_request_path(req.target());
  if (!path) {
    if (path.error() == PathError::kBadRequest) return answer_error(ask, 400);
    return answer_missing(ask, "");
  }
  answer_path(ask, path->relative, path->folder);
}

void StaticSite::answer_path(const Ask& ask, const std::string& relative, bool folder) {
  auto entry = root_.open_entry(relative);
  if (entry && !entry->folder) {
    // "/app.js/": a file asked for as a folder is not there.
    if (folder && !relative.empty()) return answer_missing(ask, relative);
    return answer_file(ask, std::move(*entry), relative, 200);
  }
  std::string index =
      relative.empty() ? std::string(kIndex) : fmt::format("{}/{}", relative, kIndex);
  if (entry) {
    entry = root_.open_entry(index);
    if (entry && entry->folder) entry = fail(ENOENT, index);
  }
  if (!entry) {
    int status = status_for(entry.error());
    if (status == 404) return answer_missing(ask, relative);
    if (status == 500) log_error("serve: {}", entry.error().message());
    return answer_error(ask, status);
  }
  if (!folder) {
    std::string location = encode_path(relative);
    location.push_back('/');
    if (!ask.req.query().empty()) location.append("?").append(ask.req.query());
    return answer_error(ask, 301, "Location", location);
  }
  answer_file(ask, std::move(*entry), index, 200);
}

void StaticSite::answer_missing(const Ask& ask, const std::string& relative) {
  if (options_.spa) {
    // PM2's --spa: the file of the same base name at the root (a page's relative asset asked
    // for under a deep route), then the home page.
    std::string_view base = std::string_view(relative).substr(relative.rfind('/') + 1);
    for (std::string_view candidate : {base, kIndex}) {
      if (candidate.empty() || candidate == relative) continue;
      auto page = root_.open_entry(candidate);
      if (page && !page->folder) return answer_file(ask, std::move(*page), candidate, 200);
    }
  }
  auto page = root_.open_entry(kNotFoundPage);
  if (page && !page->folder) return answer_file(ask, std::move(*page), kNotFoundPage, 404);
  answer_error(ask, 404);
}

void StaticSite::answer_file(const Ask& ask, SiteRoot::Entry file, std::string_view name,
                             int status) {
  http::Response& res = ask.res;
  const auto size = static_cast<std::uint64_t>(file.st.st_size);
  const std::int64_t mtime = file.st.st_mtim.tv_sec;
  const std::string modified = format_http_date(mtime);
  res.set_header("Last-Modified", modified);
  RangeAnswer range;
  if (status == 200) {
    res.set_header("Accept-Ranges", "bytes");
    if (not_modified(ask.req, mtime)) {
      res.set_status(304);
      return res.end();
    }
    range = range_of(ask.req, size, modified);
    if (range.kind == RangeKind::kUnsatisfiable) {
      res.set_header("Content-Range", content_range(range, size));
      return answer_error(ask, 416);
    }
  }
  std::uint64_t offset = 0;
  std::uint64_t length = size;
  if (range.kind == RangeKind::kPartial) {
    status = 206;
    offset = range.first;
    length = range.length;
    res.set_header("Content-Range", content_range(range, size));
  }
  res.set_status(status);
  res.set_header("Content-Type", content_type_for(name));
  res.set_header("Content-Length", std::to_string(length));
  res.set_header("Access-Control-Allow-Origin", "*");
  res.set_header("Access-Control-Allow-Methods", "GET");
  if (ask.head || length == 0) return res.end();
  send_file_body(std::move(res), std::move(file.file), offset, length);
}

void StaticSite::answer_error(const Ask& ask, int status, std::string_view extra_header,
                              std::string_view extra_value) {
  ask.res.set_status(status);
  if (!extra_header.empty()) ask.res.set_header(extra_header, extra_value);
  ask.res.set_header("Content-Type", "text/plain; charset=utf-8");
  ask.res.end(fmt::format("{} {}\n", status, http::status_text(status)));
}

}  // namespace herd::serve
