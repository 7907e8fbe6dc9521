// A strict reader of the Prometheus text exposition format (0.0.4), for tests: it accepts only
// what the format allows and says exactly where a text breaks a rule. The rules checked:
// metric and label names match the format's patterns; label values are quoted with only \\, \"
// and \n escapes; values parse as Go floats (incl. +Inf, -Inf, NaN); an optional integer
// timestamp; "# HELP name text" and "# TYPE name counter|gauge|histogram|summary|untyped" at
// most once per family and TYPE before the family's samples; the samples of a family are
// contiguous; no series (name + label set) appears twice; counters are named *_total and are
// never negative; the text ends with a newline.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace herd::e2e {

struct PromSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct PromText {
  std::map<std::string, std::string> types;  // family -> type
  std::map<std::string, std::string> help;   // family -> text
  std::vector<PromSample> samples;

  // The value of `name` with exactly these labels, if present.
  std::optional<double> value(const std::string& name,
                              const std::map<std::string, std::string>& labels) const;
};

// The parsed text, or (in `error`) the first rule it breaks, with the line number.
std::optional<PromText> parse_prometheus(const std::string& text, std::string* error);

}  // namespace herd::e2e
