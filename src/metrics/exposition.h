// Prometheus's text exposition format (version 0.0.4), written: metric families with HELP and TYPE, then
// their samples, label values escaped. Families and samples come out in the order they were added. Pure.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace migctl::metrics {

/// A label's name and value: `{"GPU_I_PROFILE", "3g.40gb"}`.
using Label = std::pair<std::string, std::string>;
using Labels = std::vector<Label>;

enum class MetricType { kGauge, kCounter };

/// One metric family and its samples.
struct Family {
  std::string name;  ///< `migctl_mig_device_memory_used_bytes`
  std::string help;  ///< One line; backslashes and newlines are escaped on output.
  MetricType type = MetricType::kGauge;
  std::vector<std::pair<Labels, double>> samples;

  void Add(Labels labels, double value) { samples.emplace_back(std::move(labels), value); }
};

/// The text Prometheus scrapes. A family without samples is left out (no HELP without a series). Label values
/// escape `\`, `"` and newlines; values print as integers when they are whole, else with full precision; NaN
/// and infinities as Prometheus spells them.
std::string Render(const std::vector<Family>& families);

/// The series that appear more than once (same name and labels, in any label order), as `name{labels}`
/// strings: Prometheus keeps one of them silently and promtool does not notice, so callers check.
std::vector<std::string> DuplicateSeries(const std::vector<Family>& families);

/// The HTTP Content-Type of Render's text.
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace migctl::metrics
