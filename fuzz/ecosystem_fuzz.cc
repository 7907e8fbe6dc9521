// ecosystem_fuzz: a libFuzzer target for the ecosystem readers (manager/ecosystem.h): a document
// in memory through parse_ecosystem, as JSON and as YAML (node and .js files are not involved),
// and the same text's apps through app_spec_from_json, which is what the control protocol's
// `start` does with the apps the CLI sends.
//
// Every input is read both ways (most JSON is also YAML, and the corpus stays plain text), once
// without options and once with --env production and --only api. Besides the sanitizers'
// reports, the target checks:
//   - an error always has a message, a success has at least one app;
//   - every app that comes out has a valid name (app_name.h: the rule holds at every entry);
//   - an app survives the trip through the control protocol: app_spec_from_json(to_json(app))
//     succeeds and gives the same app back;
//   - relax_json (the relaxed-JSON rewrite .json files go through) maps every output byte back
//     to the input in order, and leaves strict JSON meaning what it meant.
// The readers' own limits (nesting depth) are what keeps a deep document cheap; libFuzzer's
// -timeout and ASan's stack checks report it when they do not.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "app/app_name.h"
#include "app/app_spec.h"
#include "app/ecosystem.h"
#include "app/relaxed_json.h"

namespace {

namespace m = herd::manager;
using nlohmann::json;

[[noreturn]] void die(const char* what, const std::string& detail) {
  std::fprintf(stderr, "ecosystem_fuzz: %s: %s\n", what, detail.c_str());
  std::abort();
}

void check_result(const herd::Result<m::EcosystemResult>& r) {
  if (!r) {
    if (r.error().context().empty()) die("an error without a message", "");
    return;
  }
  if (r->apps.empty()) die("a document read with no app and no error", "");
  for (const m::AppSpec& app : r->apps) {
    if (!m::validate_app_name(app.name)) die("an invalid app name came out", app.name);
    json j = m::to_json(app);
    auto back = m::app_spec_from_json(j);
    if (!back) die("to_json's output is refused by app_spec_from_json", back.error().context());
    if (!(*back == app)) die("an app changes through to_json and app_spec_from_json", j.dump());
  }
}

void read_both(std::string_view text, const m::EcosystemOptions& opts) {
  check_result(m::parse_ecosystem(text, m::EcosystemFormat::kJson, "fuzz.json", "/srv/app", opts));
  check_result(m::parse_ecosystem(text, m::EcosystemFormat::kYaml, "fuzz.yaml", "/srv/app", opts));
}

// What the daemon's `start` does with each app of a request (daemon.cc, start_apps).
void as_control_apps(std::string_view text) {
  json doc = json::parse(text, nullptr, false, true);
  if (doc.is_discarded()) return;
  const json* apps = &doc;
  if (doc.is_object() && doc.contains("apps")) apps = &doc["apps"];
  if (!apps->is_array()) {
    (void)m::app_spec_from_json(*apps);
    return;
  }
  for (const json& j : *apps) {
    auto spec = m::app_spec_from_json(j);
    if (!spec) (void)m::input_error_message(spec.error());
  }
}

void check_relaxed(std::string_view text) {
  auto r = m::detail::relax_json(text);
  if (!r) {
    if (r.error().reason.empty() || r.error().offset > text.size()) {
      die("a relax_json error without a reason or outside the text", r.error().reason);
    }
  } else {
    if (r->origin.size() != r->json.size() + 1) die("origin is not one per byte plus one", "");
    for (std::size_t i = 0; i < r->origin.size(); ++i) {
      if (r->origin[i] > text.size() || (i > 0 && r->origin[i] < r->origin[i - 1])) {
        die("origin goes backwards or past the text", std::to_string(i));
      }
    }
  }
  // Strict JSON (no comments) means the same once rewritten. nlohmann's lexer takes a NUL byte as
  // the end of the input ("0\0\7" parses as 0), JavaScript as a syntax error, so text with a NUL
  // is no oracle here.
  if (text.find('\0') != std::string_view::npos) return;
  json strict = json::parse(text, nullptr, false, false);
  if (strict.is_discarded() || strict.is_string()) return;  // a bare string may hold raw bytes
  if (!r) die("relax_json refuses strict JSON", r.error().reason);
  json again = json::parse(r->json, nullptr, false, false);
  if (again.is_discarded() || !(again == strict)) die("relax_json changes strict JSON", r->json);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 16384) return 0;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  static const m::EcosystemOptions plain;
  static const m::EcosystemOptions production = [] {
    m::EcosystemOptions o;
    o.env_name = "production";
    o.only = {"api"};
    o.base_env = {{"HOME", "/home/fuzz"}, {"PATH", "/usr/bin:/bin"}};
    return o;
  }();
  read_both(text, plain);
  read_both(text, production);
  as_control_apps(text);
  check_relaxed(text);
  return 0;
}
