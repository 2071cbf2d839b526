#include "reconcile/checkpoint.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

namespace migctl {
namespace {

using Json = nlohmann::json;

/// Two GPUs; GPU 0 with a 3g.40gb GI at 4 holding two CIs.
Json Valid() {
  return Json::parse(R"({"version": 1, "kind": "migctl-checkpoint", "gpus": [
    {"index": 0, "uuid": "GPU-a", "name": "A100", "mig_enabled": true, "gpu_instances": [
      {"profile_id": 9, "profile": "3g.40gb", "start": 4, "size": 4, "compute_instances": [
        {"profile_id": 0, "start": 0, "size": 1}, {"profile_id": 1, "start": 1, "size": 2}]}]},
    {"index": 1, "uuid": "GPU-b", "name": "A100", "mig_enabled": false, "gpu_instances": []}]})");
}

std::string Refusal(const Json& doc) {
  Result<Checkpoint> parsed = ParseCheckpoint(doc.dump(), "state.json");
  if (parsed.ok()) return "";
  EXPECT_EQ(parsed.error().code, ErrorCode::kCorrupt);
  EXPECT_EQ(parsed.error().message.find('\n'), std::string::npos);
  return parsed.error().message;
}

TEST(ParseCheckpoint, ReadsAValidCheckpoint) {
  Result<Checkpoint> parsed = ParseCheckpoint(Valid().dump(), "state.json");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->gpus.size(), 2u);
  EXPECT_EQ(parsed->gpus[0].instances[0].cis.size(), 2u);
}

// Regression: a checkpoint listing one GPU twice made restore destroy all its instances and exit 0.
TEST(ParseCheckpoint, RegressionGpuListedTwiceIsRefused) {
  Json same_index = Valid();
  same_index["gpus"][1]["index"] = 0;
  EXPECT_EQ(Refusal(same_index),
            "state.json: GPU 0: listed twice (same index); a checkpoint lists each GPU once, so it cannot be "
            "trusted");
  Json same_uuid = Valid();
  same_uuid["gpus"][1]["uuid"] = "GPU-a";
  EXPECT_NE(Refusal(same_uuid).find("state.json: GPU 1: listed twice (same UUID GPU-a)"), std::string::npos);
}

TEST(ParseCheckpoint, EntriesThatCannotBeTrustedAreRefused) {
  const struct {
    const char* pointer;
    Json value;
    const char* message;
  } cases[] = {
      {"/gpus/0/gpu_instances/0/start", -1, "state.json: GPU 0: GI 0: 'start' is -1, not a whole number"},
      {"/gpus/0/gpu_instances/0/start", 2.5, "state.json: GPU 0: GI 0: 'start' is 2.5"},
      {"/gpus/0/gpu_instances/0/size", 0, "state.json: GPU 0: GI 0: a placement needs a size of 1 or more"},
      {"/gpus/0/gpu_instances/0/start", 62, "state.json: GPU 0: GI 0: the placement reaches past slot 63"},
      {"/gpus/0/index", 4294967296ull, "state.json: gpus[0]: 'index' is 4294967296"},
      {"/gpus/0/uuid", "", "state.json: GPU 0: 'uuid' is missing"},
      {"/gpus/0/mig_enabled", "yes", "state.json: GPU 0: 'mig_enabled' is not true or false"},
      {"/gpus/0/mig_enabled", false, "state.json: GPU 0: MIG is off, yet it lists GPU instances"},
      {"/gpus/0/gpu_instances/0/compute_instances/1/start", 0,
       "state.json: GPU 0: GI 0: CI 1 at start 0 overlaps CI 0 at start 0"},
      {"/gpus/0/gpu_instances/1",
       Json::parse(R"({"profile_id": 14, "start": 6, "size": 2, "compute_instances": []})"),
       "state.json: GPU 0: GI 1 at start 6 size 2 overlaps GI 0 at start 4 size 4"},
      {"/version", 4294967297ull, "state.json: not a migctl checkpoint: version 4294967297"},
  };
  for (const auto& c : cases) {
    Json doc = Valid();
    doc[Json::json_pointer(c.pointer)] = c.value;
    const std::string message = Refusal(doc);
    EXPECT_TRUE(message.starts_with(c.message)) << "got: " << message << "\nwant: " << c.message;
  }
}

TEST(ParseCheckpoint, CheckpointOfItsOwnOutputRoundTrips) {
  Result<Checkpoint> parsed = ParseCheckpoint(Valid().dump(), "state.json");
  ASSERT_TRUE(parsed.ok());
  Result<Checkpoint> again = ParseCheckpoint(CheckpointToJson(*parsed), "state.json");
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->gpus[0].instances[0].start, 4u);
}

}  // namespace
}  // namespace migctl
