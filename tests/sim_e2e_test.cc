// End-to-end tests of the simulator itself: `sim init`, its fidelity to the driver and to recorded hardware,
// and state files it cannot use. Each test has its own temporary directory and state file.
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e_harness.h"

namespace {

// ---------------------------------------------------------------------------------------------------------------
// A new machine, and how faithful it is to the driver and to recorded hardware.

TEST_F(E2e, SimInitMakesEightA100sWithMigOff) {
  InitMachine("a100-80gb:8");
  Json status = Status();
  ASSERT_EQ(status["gpus"].size(), 8u);
  for (int i = 0; i < 8; ++i) {
    const Json& gpu = status["gpus"][i];
    EXPECT_EQ(gpu["index"], i);
    EXPECT_EQ(gpu["model"], "a100-80gb");
    EXPECT_EQ(gpu["mig"]["current"], false);
    EXPECT_EQ(gpu["mig"]["pending"], false);
    EXPECT_TRUE(gpu["instances"].empty());
  }
}

TEST_F(E2e, SimulatedH100ProfilesMatchTheRecordedHardware) {
  // From tests/fixtures/hardware/h100-80gb-hbm3.nvml-profiles.txt (NVIDIA H100 80GB HBM3, NVML).
  struct Recorded {
    std::string name;
    unsigned memory_mib;
    std::vector<Placement> placements;
  };
  const std::map<int, Recorded> recorded{
      {19, {"1g.10gb", 9984, {{0, 1}, {1, 1}, {2, 1}, {3, 1}, {4, 1}, {5, 1}, {6, 1}}}},
      {20, {"1g.10gb+me", 9984, {{0, 1}, {1, 1}, {2, 1}, {3, 1}, {4, 1}, {5, 1}, {6, 1}}}},
      {15, {"1g.20gb", 20096, {{0, 2}, {2, 2}, {4, 2}, {6, 2}}}},
      {14, {"2g.20gb", 20096, {{0, 2}, {2, 2}, {4, 2}}}},
      {9, {"3g.40gb", 40448, {{0, 4}, {4, 4}}}},
      {5, {"4g.40gb", 40448, {{0, 4}}}},
      {0, {"7g.80gb", 81152, {{0, 8}}}},
  };
  InitMachine("h100-80gb:1");
  Json doc = MustJson({"profiles", "-i", "0"});
  ASSERT_EQ(doc["gpus"].size(), 1u);
  std::map<int, Recorded> simulated;
  for (const Json& p : doc["gpus"][0]["profiles"]) {
    Recorded r{p["name"], p["memory_mib"], {}};
    for (const Json& at : p["placements"]) r.placements.push_back(PlacementOf(at));
    simulated[p["id"]] = r;
  }
  ASSERT_EQ(simulated.size(), recorded.size());
  for (const auto& [id, want] : recorded) {
    SCOPED_TRACE("profile " + std::to_string(id));
    ASSERT_TRUE(simulated.contains(id));
    const Recorded& got = simulated.at(id);
    EXPECT_EQ(got.name, want.name);
    EXPECT_EQ(got.memory_mib, want.memory_mib);
    EXPECT_EQ(got.placements, want.placements);
  }
}

/// What one nvmlDeviceCreateGpuInstance call returned, as auto_placement_probe prints it.
struct ProbeCall {
  unsigned profile;
  int rc;
  Placement at;
};

TEST_F(E2e, SimulatorAutomaticPlacementDependsOnCreationOrderLikeTheDriver) {
  auto probe = [this](const Args& profile_ids) {
    InitMachine("a100-40gb:1");
    EnableMig("0");
    Outcome o = Start(AUTO_PLACEMENT_PROBE, profile_ids, {{"MIGSIM_STATE", state_}}).Wait();
    EXPECT_EQ(o.exit_code, 0) << o;
    std::vector<ProbeCall> calls;
    for (const std::string& line : Lines(o.out)) {
      ProbeCall c{};
      std::istringstream in(line);
      in >> c.profile >> c.rc >> c.at.first >> c.at.second;
      calls.push_back(c);
    }
    fs::remove(state_);
    return calls;
  };

  // Small first: the driver puts the 1g and 2g instances where the 3g.20gb would have to go.
  std::vector<ProbeCall> small_first = probe({"19", "19", "14", "9"});
  ASSERT_EQ(small_first.size(), 4u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(small_first[i].rc, 0) << "call " << i;
  EXPECT_EQ(small_first[3].rc, kInsufficientResources);

  // Large first: the same set fits.
  std::vector<ProbeCall> large_first = probe({"9", "19", "14", "19"});
  ASSERT_EQ(large_first.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(large_first[i].rc, 0) << "call " << i;
}

// ---------------------------------------------------------------------------------------------------------------
// State files that cannot be used.

TEST_F(E2e, MissingStateFileSaysHowToCreateOne) {
  fs::path missing = dir_ / "nowhere.json";
  Outcome o = RunRaw({"--sim", missing.string(), "--json", "status"});
  ExpectOneLineError(o, kExitUsage, {missing.string(), "migctl sim init"});
  EXPECT_FALSE(fs::exists(missing)) << "a command that reads the machine created its state file";
}

class BadStateFile : public E2e {
 protected:
  /// A bad state file is refused, through --sim and through `sim show`, in one line containing `needle` (and
  /// not `not_wanted`, when given); the file stays as it was.
  void ExpectRefused(const std::string& needle, const char* not_wanted) {
    const std::string before = ReadFile(state_);
    for (const Args& args :
         {Args{"--sim", state_, "--json", "status"}, Args{"--json", "sim", "show", state_}}) {
      SCOPED_TRACE(args[0] == "--sim" ? "status" : "sim show");
      Outcome o = RunRaw(args);
      EXPECT_NE(o.exit_code, kExitOk) << o;
      std::vector<std::string> lines = Lines(o.err);
      ASSERT_EQ(lines.size(), 1u) << o;
      EXPECT_NE(lines[0].find(needle), std::string::npos) << "the error does not say '" << needle << "'\n"
                                                          << o;
      if (not_wanted != nullptr) {
        EXPECT_EQ(lines[0].find(not_wanted), std::string::npos) << "the error blames '" << not_wanted << "'\n"
                                                                << o;
      }
    }
    EXPECT_EQ(ReadFile(state_), before);
  }
};

TEST_F(BadStateFile, CorruptStateFileIsReportedAsCorruptNotAsAMissingDriver) {
  WriteFile(state_, "{\"gpus\": [");
  ExpectRefused(state_, "driver");
}

TEST_F(BadStateFile, StateFileOfUnknownVersionIsRefusedNamingTheVersion) {
  InitMachine("a100-80gb:1");
  Json state = Json::parse(ReadFile(state_));
  ASSERT_EQ(state["version"], 1);
  state["version"] = 99;
  WriteFile(state_, state.dump());
  ExpectRefused("version 99", nullptr);
}

}  // namespace
