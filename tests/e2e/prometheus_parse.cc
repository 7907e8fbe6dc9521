#include "e2e/prometheus_parse.h"

#include <cmath>
#include <cstdlib>
#include <regex>
#include <set>
#include <sstream>

namespace herd::e2e {
namespace {

const std::regex kMetricName("[a-zA-Z_:][a-zA-Z0-9_:]*");
const std::regex kLabelName("[a-zA-Z_][a-zA-Z0-9_]*");

bool parse_float(const std::string& s, double* out) {
  if (s == "+Inf" || s == "Inf") {
    *out = INFINITY;
    return true;
  }
  if (s == "-Inf") {
    *out = -INFINITY;
    return true;
  }
  if (s == "NaN") {
    *out = NAN;
    return true;
  }
  static const std::regex kFloat(R"([+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)");
  if (!std::regex_match(s, kFloat)) return false;
  *out = std::strtod(s.c_str(), nullptr);
  return true;
}

// The family a sample name belongs to, for the contiguity rule: histogram and summary samples
// carry suffixes.
std::string family_of(const std::string& name, const std::map<std::string, std::string>& types) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    std::string s = suffix;
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
      std::string base = name.substr(0, name.size() - s.size());
      auto it = types.find(base);
      if (it != types.end() && (it->second == "histogram" || it->second == "summary")) return base;
    }
  }
  return name;
}

}  // namespace

std::optional<double> PromText::value(const std::string& name,
                                      const std::map<std::string, std::string>& labels) const {
  for (const auto& s : samples) {
    if (s.name == name && s.labels == labels) return s.value;
  }
  return std::nullopt;
}

std::optional<PromText> parse_prometheus(const std::string& text, std::string* error) {
  PromText out;
  auto fail = [&](int line, const std::string& why) -> std::optional<PromText> {
    *error = "line " + std::to_string(line) + ": " + why;
    return std::nullopt;
  };
  if (text.empty() || text.back() != '\n') return fail(0, "the text does not end with a newline");
  std::set<std::string> finished;  // families whose samples ended
  std::string current;             // the family of the previous sample
  std::set<std::string> series;
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::istringstream words(line);
      std::string hash, kind, name;
      words >> hash >> kind >> name;
      if (hash != "#" || (kind != "HELP" && kind != "TYPE")) continue;  // a plain comment
      if (!std::regex_match(name, kMetricName)) return fail(n, "bad metric name '" + name + "'");
      std::string rest;
      std::getline(words, rest);
      if (!rest.empty() && rest[0] == ' ') rest.erase(0, 1);
      if (kind == "HELP") {
        if (out.help.count(name) != 0) return fail(n, "second HELP for " + name);
        out.help[name] = rest;
      } else {
        static const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary",
                                                     "untyped"};
        if (kTypes.count(rest) == 0) return fail(n, "unknown type '" + rest + "'");
        if (out.types.count(name) != 0) return fail(n, "second TYPE for " + name);
        bool sampled = finished.count(name) != 0 || current == name;
        if (sampled) return fail(n, "TYPE of " + name + " after its samples");
        out.types[name] = rest;
      }
      continue;
    }
    PromSample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    if (!std::regex_match(s.name, kMetricName)) return fail(n, "bad metric name '" + s.name + "'");
    if (i < line.size() && line[i] == '{') {
      ++i;
      for (;;) {
        if (i < line.size() && line[i] == '}') {
          ++i;
          break;
        }
        std::size_t eq = line.find('=', i);
        if (eq == std::string::npos) return fail(n, "label without '='");
        std::string lname = line.substr(i, eq - i);
        if (!std::regex_match(lname, kLabelName)) return fail(n, "bad label name '" + lname + "'");
        i = eq + 1;
        if (i >= line.size() || line[i] != '"') return fail(n, "label value not quoted");
        ++i;
        std::string value;
        for (;; ++i) {
          if (i >= line.size()) return fail(n, "unterminated label value");
          if (line[i] == '"') break;
          if (line[i] == '\\') {
            ++i;
            if (i >= line.size()) return fail(n, "unterminated escape");
            if (line[i] == 'n') {
              value += '\n';
            } else if (line[i] == '\\' || line[i] == '"') {
              value += line[i];
            } else {
              return fail(n, std::string("bad escape \\") + line[i]);
            }
          } else {
            value += line[i];
          }
        }
        ++i;  // the closing quote
        if (s.labels.count(lname) != 0) return fail(n, "label " + lname + " twice");
        s.labels[lname] = value;
        if (i < line.size() && line[i] == ',') {
          ++i;
        } else if (i >= line.size() || line[i] != '}') {
          return fail(n, "expected ',' or '}' after a label");
        }
      }
    }
    if (i >= line.size() || line[i] != ' ') return fail(n, "no value");
    std::istringstream rest(line.substr(i + 1));
    std::string value, timestamp, extra;
    rest >> value >> timestamp >> extra;
    if (!parse_float(value, &s.value)) return fail(n, "bad value '" + value + "'");
    if (!timestamp.empty() && !std::regex_match(timestamp, std::regex("-?\\d+"))) {
      return fail(n, "bad timestamp '" + timestamp + "'");
    }
    if (!extra.empty()) return fail(n, "trailing text '" + extra + "'");

    std::string family = family_of(s.name, out.types);
    if (family != current) {
      if (finished.count(family) != 0) return fail(n, "samples of " + family + " are split");
      if (!current.empty()) finished.insert(current);
      current = family;
    }
    std::string key = s.name;
    for (const auto& [k, v] : s.labels) key += "\x1f" + k + "=" + v;
    if (!series.insert(key).second) return fail(n, "series repeated: " + line);
    auto type = out.types.find(family);
    if (type != out.types.end() && type->second == "counter") {
      if (s.name.size() < 6 || s.name.compare(s.name.size() - 6, 6, "_total") != 0) {
        return fail(n, "counter " + s.name + " is not named *_total");
      }
      if (s.value < 0) return fail(n, "negative counter " + s.name);
    }
    out.samples.push_back(std::move(s));
  }
  return out;
}

}  // namespace herd::e2e
