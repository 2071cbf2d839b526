#include "spec/workloads_file.h"

#include <gtest/gtest.h>

namespace migctl::spec {
namespace {

TEST(WorkloadsFile, ReadsEveryField) {
  Result<std::vector<WorkloadEntry>> w = ParseWorkloadsFile(R"(workloads:
  - name: llama-30b
    memory: 30GiB
    compute: 3
    count: 3
    priority: 10
    models: [a100-80gb, h100-80gb]
  - name: bert
    profile: 2g.20gb
)",
                                                            "w.yaml");
  ASSERT_TRUE(w.ok()) << w.error().message;
  ASSERT_EQ(w->size(), 2u);
  EXPECT_EQ((*w)[0].name, "llama-30b");
  EXPECT_EQ((*w)[0].memory_mib, 30720u);
  EXPECT_EQ((*w)[0].compute_slices, 3u);
  EXPECT_EQ((*w)[0].count, 3u);
  EXPECT_EQ((*w)[0].priority, 10u);
  EXPECT_EQ((*w)[0].models, (std::vector<std::string>{"a100-80gb", "h100-80gb"}));
  EXPECT_EQ((*w)[0].pos.line, 2u);
  EXPECT_EQ((*w)[1].profile, "2g.20gb");
  EXPECT_EQ((*w)[1].count, 1u);
}

TEST(WorkloadsFile, ErrorsPointAtWhatIsWrong) {
  struct Case {
    const char* text;
    const char* says;
  } cases[] = {
      {"workloads:\n  - name: a\n    memroy: 3G\n", "w.yaml:3:5: unknown key 'memroy'"},
      {"workloads:\n  - name: a\n", "w.yaml:2:5: workload 'a' needs 'memory', 'compute' or 'profile'"},
      {"workloads:\n  - memory: 3G\n", "needs a 'name'"},
      {"workloads:\n  - name: a\n    memory: lots\n", "w.yaml:3:13:"},
      {"workloads:\n  - name: a\n    profile: 1g.10gb\n    memory: 3G\n", "not both"},
      {"workloads:\n  - name: a\n    memory: 3G\n    count: 0\n", "w.yaml:4:12: 'count: 0'"},
      {"workloads:\n  - {name: a, memory: 3G}\n  - {name: a, memory: 4G}\n", "named twice"},
      {"workloads: []\n", "non-empty list"},
      {"jobs: []\n", "expected a 'workloads:' list"},
      {"workloads:\n  - name: a\n    memory: 3G\nextra: 1\n", "w.yaml:4:1: unknown key 'extra'"},
      {"workloads: [\n", "w.yaml:"},
  };
  for (const Case& c : cases) {
    Result<std::vector<WorkloadEntry>> w = ParseWorkloadsFile(c.text, "w.yaml");
    ASSERT_FALSE(w.ok()) << c.text;
    EXPECT_EQ(w.error().code, ErrorCode::kInvalidInput);
    EXPECT_NE(w.error().message.find(c.says), std::string::npos) << w.error().message;
  }
}

}  // namespace
}  // namespace migctl::spec
