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

// Regression: a start of -1 was read as 4294967295 (nlohmann wraps a negative into an unsigned).
TEST(MachineState, RegressionNegativeStartIsRefusedNotWrapped) {
  nlohmann::json j = MachineStateToJson(Sample());
  j["gpus"][0]["gpu_instances"][0]["start"] = -1;
  Result<MachineState> parsed = ParseMachineState(j.dump());
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code, ErrorCode::kCorrupt);
  EXPECT_EQ(parsed.error().message, "GPU 0: GI 2: 'start' is -1, not a whole number from 0 to 4294967295");
}

TEST(MachineState, FieldsOfTheWrongTypeOrRangeAreNamed) {
  const struct {
    const char* pointer;
    nlohmann::json value;
    const char* message;
  } cases[] = {
      {"/gpus/0/gpu_instances/0/size", 2.5, "GPU 0: GI 2: 'size' is 2.5, not a whole number"},
      {"/gpus/0/gpu_instances/0/id", "x", "GPU 0: gpu_instances[0]: 'id' is \"x\", not a whole number"},
      {"/gpus/0/minor", 4294967296ull,
       "GPU 0: 'minor' is 4294967296, not a whole number from 0 to 4294967295"},
      {"/gpus/0/processes/1/pid", -5, "GPU 0: processes[1]: 'pid' is -5"},
      {"/gpus/0/uuid", 7, "GPU 0: 'uuid' is 7, not a string"},
      {"/gpus/0/gpu_instances", nlohmann::json::object(), "GPU 0: 'gpu_instances' is object, not a list"},
      {"/gpus/0/mig_mode/current", 7, "GPU 0: mig_mode current is 7; it must be 0 (disabled) or 1 (enabled)"},
      {"/version", 4294967297ull, "simulator state has version 4294967297"},
      {"/seed", -1, "state: 'seed' is -1"},
  };
  for (const auto& c : cases) {
    nlohmann::json j = MachineStateToJson(Sample());
    j[nlohmann::json::json_pointer(c.pointer)] = c.value;
    Result<MachineState> parsed = ParseMachineState(j.dump());
    ASSERT_FALSE(parsed.ok()) << c.pointer;
    EXPECT_TRUE(parsed.error().message.starts_with(c.message)) << parsed.error().message;
  }
}

}  // namespace
}  // namespace migctl::sim
