#include "metrics/exposition.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

namespace migctl::metrics {
namespace {

std::string Escape(std::string_view text, bool quotes) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '"' && quotes)
      out += "\\\"";
    else
      out += c;
  }
  return out;
}

std::string Series(const std::string& name, const Labels& labels) {
  std::string out = name;
  if (labels.empty()) return out;
  out += '{';
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ',';
    out += labels[i].first;
    out += "=\"";
    out += Escape(labels[i].second, true);
    out += '"';
  }
  out += '}';
  return out;
}

std::string Value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<long long>(v));
  return fmt::format("{}", v);  // shortest text that reads back as the same double
}

}  // namespace

std::string Render(const std::vector<Family>& families) {
  std::string out;
  for (const Family& f : families) {
    if (f.samples.empty()) continue;
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", f.name, Escape(f.help, false), f.name,
                       f.type == MetricType::kCounter ? "counter" : "gauge");
    for (const auto& [labels, value] : f.samples) {
      out += Series(f.name, labels);
      out += ' ';
      out += Value(value);
      out += '\n';
    }
  }
  return out;
}

std::vector<std::string> DuplicateSeries(const std::vector<Family>& families) {
  std::set<std::string> seen;
  std::vector<std::string> twice;
  for (const Family& f : families)
    for (const auto& [labels, value] : f.samples) {
      Labels sorted = labels;
      std::sort(sorted.begin(), sorted.end());
      std::string key = Series(f.name, sorted);
      if (!seen.insert(key).second) twice.push_back(std::move(key));
    }
  return twice;
}

}  // namespace migctl::metrics
