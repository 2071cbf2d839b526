#include "metrics/exposition.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

namespace migctl::metrics {
namespace {

TEST(Exposition, RendersHelpTypeAndSamplesInOrder) {
  Family used{"migctl_mig_device_memory_used_bytes", "Memory in use.", MetricType::kGauge, {}};
  used.Add({{"gpu", "0"}, {"GPU_I_PROFILE", "3g.40gb"}}, 1048576);
  used.Add({{"gpu", "1"}, {"GPU_I_PROFILE", "1g.10gb"}}, 0.25);
  Family applies{"migctl_applies_total", "Applies.", MetricType::kCounter, {}};
  applies.Add({}, 3);
  EXPECT_EQ(Render({used, applies}),
            "# HELP migctl_mig_device_memory_used_bytes Memory in use.\n"
            "# TYPE migctl_mig_device_memory_used_bytes gauge\n"
            "migctl_mig_device_memory_used_bytes{gpu=\"0\",GPU_I_PROFILE=\"3g.40gb\"} 1048576\n"
            "migctl_mig_device_memory_used_bytes{gpu=\"1\",GPU_I_PROFILE=\"1g.10gb\"} 0.25\n"
            "# HELP migctl_applies_total Applies.\n"
            "# TYPE migctl_applies_total counter\n"
            "migctl_applies_total 3\n");
}

TEST(Exposition, EscapesLabelValuesAndHelpAndSpellsSpecialValues) {
  Family f{"m", "a \\ b\nc", MetricType::kGauge, {}};
  f.Add({{"name", "say \"hi\"\\\n"}}, std::numeric_limits<double>::quiet_NaN());
  f.Add({{"name", "up"}}, std::numeric_limits<double>::infinity());
  f.Add({{"name", "down"}}, -std::numeric_limits<double>::infinity());
  f.Add({{"name", "big"}}, 1.5e300);
  EXPECT_EQ(Render({f}),
            "# HELP m a \\\\ b\\nc\n# TYPE m gauge\n"
            "m{name=\"say \\\"hi\\\"\\\\\\n\"} NaN\n"
            "m{name=\"up\"} +Inf\n"
            "m{name=\"down\"} -Inf\n"
            "m{name=\"big\"} 1.5e+300\n");
}

TEST(Exposition, AFamilyWithoutSamplesIsLeftOut) {
  EXPECT_EQ(Render({Family{"m", "h", MetricType::kGauge, {}}}), "");
}

TEST(Exposition, FindsDuplicateSeriesInAnyLabelOrder) {
  Family f{"m", "h", MetricType::kGauge, {}};
  f.Add({{"a", "1"}, {"b", "2"}}, 1);
  f.Add({{"b", "2"}, {"a", "1"}}, 2);
  f.Add({{"a", "1"}, {"b", "3"}}, 3);
  Family g{"n", "h", MetricType::kGauge, {}};
  g.Add({{"a", "1"}, {"b", "2"}}, 1);  // another name: not a duplicate
  EXPECT_EQ(DuplicateSeries({f, g}), (std::vector<std::string>{"m{a=\"1\",b=\"2\"}"}));
  EXPECT_TRUE(DuplicateSeries({g}).empty());
}

}  // namespace
}  // namespace migctl::metrics
