// StaticSite: the request handler of `herd serve`: files of one folder over HTTP, as PM2's
// lib/API/Serve.js serves them, with the checks a file server needs.
//
// For each request, in order:
//   1. Basic authentication when a user and a password are set: 401 with
//      `WWW-Authenticate: Basic realm="Authentication service"` (PM2's realm) unless they match.
//   2. GET and HEAD only: 405 with `Allow: GET, HEAD` for any other method.
//   3. The target through resolve_request_path (request_path.h): 400 or 404 for what it refuses.
//   4. The file, through SiteRoot (site_root.h), which opens nothing outside the root:
//      - a regular file: 200, or 304 (If-Modified-Since not older than its Last-Modified), or
//        206 / 416 for a Range (byte_range.h; If-Range with another date sends it whole);
//      - a folder: its index.html; "/dir" (no '/' at the end) is redirected (301) to "/dir/" so
//        that the page's relative links work; a folder without index.html is not found (no
//        listing);
//      - a link out of the root, or a file the server may not read: 403;
//      - anything else not found: with `spa`, PM2's fallback (the file of the same base name at
//        the root, then /index.html, answered 200); else 404, with the root's 404.html as the
//        body when there is one (PM2 does that too).
// Answers carry Content-Type (content_type.h), Content-Length, Last-Modified, Accept-Ranges,
// `X-Content-Type-Options: nosniff`, and PM2's `Access-Control-Allow-Origin: *` and
// `Access-Control-Allow-Methods: GET` on files. Bodies are streamed (file_body.h).
//
// Threads: the loop thread of the server it is attached to.
#pragma once

#include <memory>
#include <string>

#include "herd/base/error.h"
#include "herd/http/request.h"
#include "herd/http/response.h"
#include "serve/site_root.h"

namespace herd::serve {

struct SiteOptions {
  std::string root = {};  // the folder
  bool spa = false;
  // Basic authentication, when both are set.
  std::string user = {};
  std::string password = {};
};

class StaticSite {
 public:
  // Opens the root (SiteRoot::open's errors).
  static Result<std::unique_ptr<StaticSite>> open(SiteOptions options);

  void handle(const http::Request& req, http::Response res);

  SiteRoot& root() { return root_; }

 private:
  StaticSite(SiteOptions options, SiteRoot root)
      : options_(std::move(options)), root_(std::move(root)) {}

  struct Ask;  // what is being answered (static_site.cc)
  void answer_path(const Ask& ask, const std::string& relative, bool folder);
  void answer_missing(const Ask& ask, const std::string& relative);
  void answer_file(const Ask& ask, SiteRoot::Entry file, std::string_view name, int status);
  void answer_error(const Ask& ask, int status, std::string_view extra_header = {},
                    std::string_view extra_value = {});

  SiteOptions options_;
  SiteRoot root_;
};

}  // namespace herd::serve
