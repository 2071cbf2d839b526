#include "sim/state_check.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "sim/test_support.h"

namespace migctl::sim {
namespace {

/// Two A100-80GB GPUs, MIG on for GPU 0 only; GPU 0 holds a 3g.40gb GI at 4 (id 2) with a 1c CI at 2 and a
/// 2c CI at 0, and a process on the 1c CI.
MachineState Valid() {
  MachineState state;
  SimGpu a = testing::MakeGpu("a100-80gb", 1, "GPU-aaaaaaaa-0000-0000-0000-000000000000");
  a.gpu_instances.push_back({2,
                             9,
                             4,
                             4,
                             {{0, 0, 2, 1, "MIG-00000000-0000-5000-8000-000000000001"},
                              {1, 1, 0, 2, "MIG-00000000-0000-5000-8000-000000000002"}}});
  a.processes.push_back({10000, "train", 100, 2u, 0u});
  SimGpu b = testing::MakeGpu("a100-80gb", 0, "GPU-bbbbbbbb-0000-0000-0000-000000000000");
  b.pci_bus_id = "00000000:0F:00.0";
  b.minor = 1;
  state.gpus = {a, b};
  return state;
}

/// The message CheckMachineState gives after `edit`, or "" when it accepts the state.
std::string Refusal(const std::function<void(MachineState&)>& edit) {
  MachineState state = Valid();
  edit(state);
  Status status = CheckMachineState(state);
  if (status.ok()) return "";
  EXPECT_EQ(status.error().code, ErrorCode::kCorrupt);
  return status.error().message;
}

SimGpuInstance& Gi(MachineState& s) { return s.gpus[0].gpu_instances[0]; }

TEST(CheckMachineState, AcceptsAValidMachine) {
  EXPECT_EQ(Refusal([](MachineState&) {}), "");
}

// Regression: a GI of placement size 0 made `status` grow to 4.5 GB.
TEST(CheckMachineState, RegressionGiOfSizeZeroIsRefused) {
  EXPECT_EQ(Refusal([](MachineState& s) {
              Gi(s).id = 3;
              Gi(s).start = 2;
              Gi(s).size = 0;
            }),
            "GPU 0: GI 3 at start 2 size 0: a placement needs a size of 1 or more");
}

// Regression: overlapping instances, duplicate GPU UUIDs and mig_mode 7 were accepted.
TEST(CheckMachineState, RegressionOverlapsDuplicateUuidsAndBadMigModeAreRefused) {
  EXPECT_EQ(Refusal([](MachineState& s) {
              s.gpus[0].gpu_instances.push_back({1, 19, 6, 1, {}});
            }),
            "GPU 0: GI 1 at start 6 size 1: it overlaps GI 2 at start 4 size 4");
  EXPECT_EQ(Refusal([](MachineState& s) { s.gpus[1].uuid = s.gpus[0].uuid; }),
            "GPU 1: uuid GPU-aaaaaaaa-0000-0000-0000-000000000000 is also GPU 0's");
  EXPECT_EQ(Refusal([](MachineState& s) { s.gpus[0].mig_current = 7; }),
            "GPU 0: mig_mode current is 7; it must be 0 (disabled) or 1 (enabled)");
  EXPECT_EQ(Refusal([](MachineState& s) { s.gpus[1].mig_pending = 2; }),
            "GPU 1: mig_mode pending is 2; it must be 0 (disabled) or 1 (enabled)");
}

TEST(CheckMachineState, GpuInstancesMustFitTheirProfileAndTheGpu) {
  const struct {
    std::function<void(MachineState&)> edit;
    const char* message;
  } cases[] = {
      {[](MachineState& s) { Gi(s).start = 6; },
       "GPU 0: GI 2 at start 6 size 4: the placement reaches past the 8 memory slots"},
      {[](MachineState& s) { Gi(s).start = 4000000000u; },
       "GPU 0: GI 2 at start 4000000000 size 4: the placement reaches past the 8 memory slots"},
      {[](MachineState& s) { Gi(s).profile_id = 99; },
       "GPU 0: GI 2: profile id 99 is not a GPU instance profile"},
      {[](MachineState& s) { Gi(s).size = 2; },
       "GPU 0: GI 2 at start 4 size 2: 3g.40gb takes 4 memory slots"},
      {[](MachineState& s) {
         Gi(s).start = 2;
         Gi(s).compute_instances.clear();
         s.gpus[0].processes.clear();
       },
       "GPU 0: GI 2 at start 2 size 4: 3g.40gb can only start at 0, 4"},
      {[](MachineState& s) { Gi(s).id = 15; }, "GPU 0: GI 15: GI ids go from 0 to 14"},
      {[](MachineState& s) { s.gpus[0].gpu_instances.push_back(Gi(s)); },
       "GPU 0: GI 2: the id is used twice"},
      {[](MachineState& s) {
         s.gpus[1].gpu_instances.push_back({1, 19, 0, 1, {}});
       },
       "GPU 1: MIG mode is disabled, yet it has GPU instances"},
      {[](MachineState& s) { s.gpus[0].model = "a100-99gb"; }, "GPU 0: unknown GPU model 'a100-99gb'"},
      {[](MachineState& s) { s.gpus[1].pci_bus_id = s.gpus[0].pci_bus_id; }, "GPU 1: pci_bus_id"},
      {[](MachineState& s) { s.gpus[1].minor = 0; }, "GPU 1: minor 0 is also GPU 0's"},
  };
  for (const auto& c : cases) {
    const std::string message = Refusal(c.edit);
    EXPECT_TRUE(message.starts_with(c.message)) << "got: " << message << "\nwant: " << c.message;
  }
}

TEST(CheckMachineState, ComputeInstancesMustFitTheirGi) {
  const struct {
    std::function<void(MachineState&)> edit;
    const char* message;
  } cases[] = {
      {[](MachineState& s) { Gi(s).compute_instances[1].start = 2; },
       "GPU 0: GI 2: CI 1 at start 2 size 2: the placement reaches past the 3 compute slots"},
      {[](MachineState& s) { Gi(s).compute_instances[1].size = 0; },
       "GPU 0: GI 2: CI 1 at start 0 size 0: a placement needs a size of 1 or more"},
      {[](MachineState& s) { Gi(s).compute_instances[1].profile_id = 7; },
       "GPU 0: GI 2: CI 1: CI profile id 7 is not offered inside 3g.40gb"},
      {[](MachineState& s) {
         Gi(s).compute_instances[1] = {1, 0, 2, 1, "MIG-00000000-0000-5000-8000-000000000002"};
       },
       "GPU 0: GI 2: CI 1 at start 2 size 1: it overlaps CI 0 at start 2 size 1"},
      {[](MachineState& s) { Gi(s).compute_instances[1].id = 0; }, "GPU 0: GI 2: CI 0: the id is used twice"},
      {[](MachineState& s) { Gi(s).compute_instances[1].uuid = Gi(s).compute_instances[0].uuid; },
       "GPU 0: GI 2: CI 1: MIG UUID"},
  };
  for (const auto& c : cases) {
    const std::string message = Refusal(c.edit);
    EXPECT_TRUE(message.starts_with(c.message)) << "got: " << message << "\nwant: " << c.message;
  }
}

TEST(CheckMachineState, ProcessesMustRunWhereSomethingIs) {
  const struct {
    std::function<void(MachineState&)> edit;
    const char* message;
  } cases[] = {
      {[](MachineState& s) { s.gpus[0].processes[0].pid = 0; }, "GPU 0: process 0: a pid goes from 1 to"},
      {[](MachineState& s) {
         s.gpus[1].processes.push_back({10000, "twin", 1, {}, {}});
       },
       "GPU 1: process 10000: pid 10000 is also on GPU 0"},
      {[](MachineState& s) { s.gpus[0].processes[0].gi = 5; }, "GPU 0: process 10000: it runs on GI 5"},
      {[](MachineState& s) { s.gpus[0].processes[0].ci = 6; },
       "GPU 0: process 10000: it runs on CI 6 of GI 2"},
      {[](MachineState& s) { s.gpus[0].processes[0].gi.reset(); },
       "GPU 0: process 10000: a compute instance needs its GPU instance"},
      {[](MachineState& s) { s.gpus[0].processes[0].used_mib = 1ull << 40; },
       "GPU 0: process 10000: it uses"},
  };
  for (const auto& c : cases) {
    const std::string message = Refusal(c.edit);
    EXPECT_TRUE(message.starts_with(c.message)) << "got: " << message << "\nwant: " << c.message;
  }
}

}  // namespace
}  // namespace migctl::sim
