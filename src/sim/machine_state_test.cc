#include "sim/machine_state.h"

#include <gtest/gtest.h>

#include "sim/test_support.h"

namespace migctl::sim {
namespace {

MachineState Sample() {
  MachineState state;
  state.seed = 99;
  SimGpu gpu = testing::MakeGpu("a100-80gb");
  gpu.creations = 3;
  gpu.gpu_instances.push_back({2, 9, 4, 4, {{0, 2, 0, 3, "MIG-11111111-2222-5333-8444-555555555555"}}});
  gpu.processes.push_back({100, "whole", 5, std::nullopt, std::nullopt});
  gpu.processes.push_back({101, "on-ci", 7, 2u, 0u});
  state.gpus.push_back(gpu);
  return state;
}

TEST(MachineState, RoundTripsThroughJson) {
  MachineState state = Sample();
  Result<MachineState> parsed = ParseMachineState(MachineStateToJson(state).dump());
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, state);
}

TEST(MachineState, RejectsUnknownVersion) {
  nlohmann::json j = MachineStateToJson(Sample());
  j["version"] = 2;
  Result<MachineState> parsed = ParseMachineState(j.dump());
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code, ErrorCode::kCorrupt);
  EXPECT_NE(parsed.error().message.find("version 2"), std::string::npos);
}

TEST(MachineState, RejectsMalformedText) {
  EXPECT_EQ(ParseMachineState("{not json").error().code, ErrorCode::kCorrupt);
  EXPECT_EQ(ParseMachineState(R"({"version": 1, "seed": 1})").error().code, ErrorCode::kCorrupt);
}

}  // namespace
}  // namespace migctl::sim
