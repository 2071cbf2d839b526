// End-to-end tests of the declarative commands (apply, assert, export, checkpoint, restore) on simulated
// machines: minimal changes over every transition between maximal layouts, busy instances, faults and kills
// at every mutating call, concurrent applies, malformed configs, hooks.
#include <signal.h>

#include <algorithm>
#include <random>
#include <set>
#include <thread>

#include "e2e_harness.h"

namespace {

constexpr int kExitDifferent = 3;

/// The mutating NVML calls of an apply, as the simulator counts them for MIGSIM_FAULTS.
const std::vector<std::string> kMutatingCalls = {"nvmlComputeInstanceDestroy",
                                                 "nvmlGpuInstanceDestroy",
                                                 "nvmlDeviceSetMigMode",
                                                 "migsimDeviceReset",
                                                 "nvmlDeviceCreateGpuInstanceWithPlacement",
                                                 "nvmlGpuInstanceCreateComputeInstanceWithPlacement"};

class Apply : public E2e {
 protected:
  /// Writes a config file and returns its path.
  std::string Config(const std::string& name, const std::string& text) {
    fs::path path = dir_ / name;
    WriteFile(path, text);
    return path.string();
  }
  Outcome ApplyConfig(const std::string& file, const std::string& label, const Args& more = {},
                      const Env& env = {}) {
    Args args{"apply", "-f", file, "-c", label};
    args.insert(args.end(), more.begin(), more.end());
    return Migctl(args, env);
  }
  /// The exact state (mode, placements, CI grouping; no ids) of every GPU.
  Json Checkpoint() { return MustJson({"checkpoint"}); }
  /// Steps the dry run of an apply would take on each GPU.
  Json Plan(const std::string& file, const std::string& label) {
    return MustJson({"apply", "-f", file, "-c", label, "--dry-run"});
  }
  std::string RunDir() const { return state_ + ".migctl"; }
  void EveryMaximalTransition(const std::string& model);
};

/// `mig-instances` config putting each GPU's layout (profile names and starts) in place.
std::string PlacementsConfig(const std::string& label, const std::vector<Json>& layouts) {
  std::string text = "version: v1\nmig-configs:\n  " + label + ":\n";
  for (std::size_t i = 0; i < layouts.size(); ++i) {
    text += "    - devices: [" + std::to_string(i) + "]\n      mig-enabled: true\n      mig-instances:\n";
    for (const Json& p : layouts[i]) {
      text += "        - profile: \"" + p["profile"].get<std::string>() +
              "\"\n          start: " + std::to_string(p["start"].get<int>()) + "\n";
    }
  }
  return text;
}

/// Plain mig-parted counts config for every GPU.
std::string CountsConfig(const std::string& label, const Json& profiles) {
  std::map<std::string, int> counts;
  for (const Json& p : profiles) ++counts[p.get<std::string>()];
  std::string text = "version: v1\nmig-configs:\n  " + label +
                     ":\n    - devices: all\n      mig-enabled: true\n"
                     "      mig-devices:\n";
  for (const auto& [name, count] : counts)
    text += "        \"" + name + "\": " + std::to_string(count) + "\n";
  return text;
}

using Placed = std::pair<std::string, int>;  // profile, start

/// The fewest GIs+CIs destroyed and created to go from `from` to any valid placement of `to`'s profiles, by
/// brute force over the starts each profile allows (a multiset that fits is valid wherever nothing overlaps).
int MinimumChanges(const std::vector<Placed>& from, std::vector<std::string> to,
                   const std::map<std::string, std::pair<std::vector<int>, int>>& starts_and_size) {
  std::sort(to.begin(), to.end());
  int best_kept = 0;
  std::vector<int> used(8, 0);
  std::vector<Placed> chosen;
  auto search = [&](auto&& self, std::size_t k) -> void {
    if (k == to.size()) {
      int kept = 0;
      std::vector<bool> taken(from.size(), false);
      for (const Placed& c : chosen)
        for (std::size_t f = 0; f < from.size(); ++f)
          if (!taken[f] && from[f] == c) {
            taken[f] = true;
            ++kept;
            break;
          }
      best_kept = std::max(best_kept, kept);
      return;
    }
    const auto& [starts, size] = starts_and_size.at(to[k]);
    for (int s : starts) {
      // Identical profiles in increasing start order (symmetry).
      if (k > 0 && to[k - 1] == to[k] && s <= chosen.back().second) continue;
      bool free = true;
      for (int slot = s; slot < s + size; ++slot) free = free && used[slot] == 0;
      if (!free) continue;
      for (int slot = s; slot < s + size; ++slot) used[slot] = 1;
      chosen.push_back({to[k], s});
      self(self, k + 1);
      chosen.pop_back();
      for (int slot = s; slot < s + size; ++slot) used[slot] = 0;
    }
  };
  search(search, 0);
  return 2 * (static_cast<int>(from.size()) - best_kept) + 2 * (static_cast<int>(to.size()) - best_kept);
}

// Every transition between the maximal layouts of a model: applied, asserted, with exactly the fewest
// instances destroyed and created. One simulated GPU per starting layout, so one apply does a whole column.
void Apply::EveryMaximalTransition(const std::string& model) {
  Json maximal = MustJson({"layouts", "--model", model, "--maximal"})["layouts"];
  Json profiles = MustJson({"profiles", "--model", model})["profiles"];
  std::map<std::string, std::pair<std::vector<int>, int>> starts_and_size;
  for (const Json& p : profiles) {
    for (const Json& at : p["placements"]) starts_and_size[p["name"]].first.push_back(at["start"]);
    starts_and_size[p["name"]].second = p["placements"][0]["size"];
  }
  const std::size_t n = maximal.size();
  ASSERT_GE(n, 20u);
  InitMachine(model + ":" + std::to_string(n));
  std::vector<Json> from_layouts;
  std::vector<std::vector<Placed>> from;
  for (const Json& l : maximal) {
    from_layouts.push_back(l["placements"]);
    std::vector<Placed> placed;
    for (const Json& p : l["placements"]) placed.push_back({p["profile"], p["start"]});
    from.push_back(placed);
  }
  const std::string start_file = Config("from.yaml", PlacementsConfig("from", from_layouts));
  int transitions = 0;
  for (const Json& target : maximal) {
    Outcome setup = ApplyConfig(start_file, "from");
    ASSERT_EQ(setup.exit_code, 0) << setup;
    ASSERT_EQ(Migctl({"assert", "-f", start_file, "-c", "from"}).exit_code, 0);
    const std::string to_file = Config("to.yaml", CountsConfig("to", target["profiles"]));
    Outcome o = ApplyConfig(to_file, "to");
    ASSERT_EQ(o.exit_code, 0) << o;
    Json report = o.OutJson();
    ASSERT_EQ(report["gpus"].size(), n);
    for (std::size_t g = 0; g < n; ++g) {
      const Json& gpu = report["gpus"][g];
      const int changes = gpu["instances"]["destroyed"].get<int>() + gpu["instances"]["created"].get<int>();
      EXPECT_EQ(changes, MinimumChanges(from[g], target["profiles"], starts_and_size))
          << model << " GPU " << g << " -> " << target["profiles"].dump();
      ++transitions;
    }
    Outcome check = Migctl({"assert", "-f", to_file, "-c", "to"});
    EXPECT_EQ(check.exit_code, 0) << check;
  }
  EXPECT_EQ(transitions, static_cast<int>(n * n));
}

TEST_F(Apply, EveryMaximalTransitionOfAnA100_80gbCostsTheMinimum) { EveryMaximalTransition("a100-80gb"); }
TEST_F(Apply, EveryMaximalTransitionOfAnH100_80gbCostsTheMinimum) { EveryMaximalTransition("h100-80gb"); }

TEST_F(Apply, TheTeamsCustomConfigAppliesOnceAndThenNothingChanges) {
  InitMachine("a100-80gb:4");
  const std::string file = std::string(MIGCTL_SOURCE_DIR) + "/examples/a100-80gb-x4.yaml";
  Outcome first = ApplyConfig(file, "custom-config");
  ASSERT_EQ(first.exit_code, 0) << first;
  EXPECT_EQ(first.OutJson()["changed"], true);
  Json status = Status();
  std::vector<std::multiset<std::string>> want = {
      {"3g.40gb", "3g.40gb"},
      {"2g.20gb", "2g.20gb", "2g.20gb", "1g.10gb"},
      {"2g.20gb", "2g.20gb", "2g.20gb", "1g.10gb"},
      {"1g.10gb", "1g.10gb", "1g.10gb", "1g.10gb", "1g.10gb", "1g.10gb", "1g.10gb"}};
  for (int g = 0; g < 4; ++g) {
    std::multiset<std::string> names;
    for (const Json& i : status["gpus"][g]["instances"]) names.insert(i["profile"].get<std::string>());
    EXPECT_EQ(names, want[g]) << "GPU " << g;
  }
  const std::string before = ReadFile(state_);
  Outcome again = Migctl({"apply", "-f", file, "-c", "custom-config"});
  ASSERT_EQ(again.exit_code, 0) << again;
  EXPECT_EQ(again.OutJson()["changed"], false);
  EXPECT_EQ(ReadFile(state_), before) << "an idempotent apply must not touch the machine";
  Outcome text = RunRaw({"--sim", state_, "apply", "-f", file, "-c", "custom-config"});
  EXPECT_NE(text.out.find("Nothing to do"), std::string::npos) << text;
  // Every published layout applies and asserts.
  for (const char* label :
       {"all-1g.10gb", "all-2g.20gb", "all-3g.40gb", "all-7g.80gb", "all-disabled", "custom-config"}) {
    Outcome o = ApplyConfig(file, label);
    ASSERT_EQ(o.exit_code, 0) << label << "\n" << o;
    EXPECT_EQ(Migctl({"assert", "-f", file, "-c", label}).exit_code, 0) << label;
  }
  EXPECT_EQ(Migctl({"assert", "-f", file, "-c", "all-7g.80gb"}).exit_code, kExitDifferent);
}

TEST_F(Apply, OnlyTheGpusThatMustChangeModeAreReset) {
  InitMachine("a100-80gb:3");
  const std::string file =
      Config("m.yaml",
             "version: v1\nmig-configs:\n  one:\n    - devices: [1]\n      mig-enabled: true\n"
             "      mig-devices: {\"7g.80gb\": 1}\n");
  Json report = MustJson({"apply", "-f", file, "-c", "one"});
  ASSERT_EQ(report["gpus"].size(), 1u) << "GPUs the layout does not name are left alone";
  Json machine = Status();
  EXPECT_EQ(machine["gpus"][0]["mig"]["current"], false);
  EXPECT_EQ(machine["gpus"][1]["mig"]["current"], true);
  EXPECT_EQ(machine["gpus"][2]["mig"]["current"], false);
}

TEST_F(Apply, SkipResetLeavesAmperePendingAndSaysSo) {
  InitMachine("a100-80gb:1,h100-80gb:1");
  const std::string file =
      Config("m.yaml",
             "version: v1\nmig-configs:\n  on:\n    - devices: all\n      mig-enabled: true\n"
             "      mig-devices: {}\n");
  Outcome o = ApplyConfig(file, "on", {"--skip-reset"});
  ASSERT_EQ(o.exit_code, 0) << o;
  Json report = o.OutJson();
  EXPECT_TRUE(report["gpus"][0]["unfinished"].is_string());
  EXPECT_TRUE(report["gpus"][1]["unfinished"].is_null()) << "Hopper switches without a reset";
  Json status = Status();
  EXPECT_EQ(status["gpus"][0]["mig"]["current"], false);
  EXPECT_EQ(status["gpus"][0]["mig"]["pending"], true);
  EXPECT_EQ(status["gpus"][1]["mig"]["current"], true);
  EXPECT_EQ(Migctl({"assert", "-f", file, "-c", "on"}).exit_code, kExitDifferent);
  EXPECT_EQ(ApplyConfig(file, "on").exit_code, 0);
  EXPECT_EQ(Migctl({"assert", "-f", file, "-c", "on"}).exit_code, 0);
}

TEST_F(Apply, BusyInstancesSurviveAndAnApplyThatWouldDestroyOneIsRefused) {
  InitMachine("a100-80gb:1");
  const std::string file =
      Config("m.yaml",
             "version: v1\nmig-configs:\n"
             "  two:\n    - devices: all\n      mig-enabled: true\n      mig-devices: {\"3g.40gb\": 2}\n"
             "  mixed:\n    - devices: all\n      mig-enabled: true\n"
             "      mig-devices: {\"3g.40gb\": 1, \"2g.20gb\": 1, \"1g.10gb\": 2}\n"
             "  whole:\n    - devices: all\n      mig-enabled: true\n      mig-devices: {\"7g.80gb\": 1}\n");
  ASSERT_EQ(ApplyConfig(file, "two").exit_code, 0);
  Json instances = Instances(0);
  ASSERT_EQ(instances.size(), 2u);
  const Json busy = instances[1];
  MustJson({"sim", "attach", "-i", "0", "--gi", std::to_string(busy["gi"].get<int>()), "--ci",
            std::to_string(busy["ci"].get<int>()), "--pid", "4321", "--name", "train.py"});
  const std::string before = ReadFile(state_);
  Outcome refused = ApplyConfig(file, "whole");
  ExpectOneLineError(refused, kExitFailed,
                     {"GPU 0", "pid 4321 (train.py)", "--force", "nothing was changed"});
  EXPECT_EQ(ReadFile(state_), before);
  Outcome dry = ApplyConfig(file, "whole", {"--dry-run"});
  EXPECT_EQ(dry.exit_code, kExitFailed) << "the dry run shows the same refusal";
  // A layout that can keep the busy 3g.40gb changes only the idle one.
  Outcome kept = ApplyConfig(file, "mixed");
  ASSERT_EQ(kept.exit_code, 0) << kept;
  bool survived = false;
  for (const Json& i : Instances(0))
    if (i["gi"] == busy["gi"] && i["uuid"] == busy["uuid"] && i["start"] == busy["start"]) survived = true;
  EXPECT_TRUE(survived) << Instances(0).dump();
}

/// Runs the transition with a fault at each mutating call it makes and checks each run ends in the original
/// layout (after rollback) or, for a crash, converges to the target on a re-run.
class FaultTransition : public Apply {
 protected:
  void SetUpTransition() {
    InitMachine("a100-80gb:1");
    file_ =
        Config("m.yaml",
               "version: v1\nmig-configs:\n"
               "  from:\n    - devices: all\n      mig-enabled: true\n"
               "      mig-devices: {\"2g.20gb\": 3, \"1g.10gb\": 1}\n"
               "  to:\n    - devices: all\n      mig-enabled: true\n"
               "      mig-devices: {\"2c.3g.40gb\": 1, \"1c.3g.40gb\": 1, \"1g.10gb\": 2, \"2g.20gb\": 1}\n"
               "  off:\n    - devices: all\n      mig-enabled: false\n");
  }
  /// How often each mutating function is called going from `from` to `to`: counted from the dry run.
  std::map<std::string, int> CallsOf(const std::string& from, const std::string& to) {
    EXPECT_EQ(ApplyConfig(file_, from).exit_code, 0);
    std::map<std::string, int> calls;
    const Json plan = Plan(file_, to);
    for (const Json& step : plan["gpus"][0]["steps"]) {
      const std::string op = step["op"];
      if (op == "destroy_ci") ++calls["nvmlComputeInstanceDestroy"];
      if (op == "destroy_gi") ++calls["nvmlGpuInstanceDestroy"];
      if (op == "set_mig_mode") ++calls["nvmlDeviceSetMigMode"];
      if (op == "reset_gpu") ++calls["migsimDeviceReset"];
      if (op == "create_gi") ++calls["nvmlDeviceCreateGpuInstanceWithPlacement"];
      if (op == "create_gi" || op == "create_ci")
        calls["nvmlGpuInstanceCreateComputeInstanceWithPlacement"] +=
            step.contains("compute_instances") ? static_cast<int>(step["compute_instances"].size()) : 0;
    }
    return calls;
  }
  std::string file_;
};

TEST_F(FaultTransition, AFaultAtEveryMutatingCallPutsTheGpuBack) {
  SetUpTransition();
  for (const auto& [from, to] :
       std::vector<std::pair<std::string, std::string>>{{"from", "to"}, {"off", "to"}, {"to", "off"}}) {
    std::map<std::string, int> calls = CallsOf(from, to);
    int injected = 0;
    for (const auto& [function, count] : calls) {
      for (int n = 1; n <= count; ++n) {
        ASSERT_EQ(ApplyConfig(file_, from).exit_code, 0);
        const Json original = Checkpoint();
        Outcome o =
            ApplyConfig(file_, to, {}, {{"MIGSIM_FAULTS", function + "@" + std::to_string(n) + "=UNKNOWN"}});
        EXPECT_EQ(o.exit_code, kExitFailed) << from << "->" << to << " " << function << "@" << n << "\n" << o;
        EXPECT_NE(o.err.find("put back"), std::string::npos) << o;
        EXPECT_EQ(Checkpoint(), original) << from << "->" << to << " fault at " << function << "@" << n;
        EXPECT_FALSE(
            fs::exists(RunDir() + "/gpu-" + original["gpus"][0]["uuid"].get<std::string>() + ".json"));
        ++injected;
      }
    }
    EXPECT_GE(injected, 3) << from << "->" << to;
  }
}

TEST_F(FaultTransition, ACrashAtEveryMutatingCallConvergesOnTheNextRun) {
  SetUpTransition();
  std::map<std::string, int> calls = CallsOf("from", "to");
  ASSERT_TRUE(ApplyConfig(file_, "to").exit_code == 0);
  const Json target = Checkpoint();
  for (const auto& [function, count] : calls) {
    for (int n = 1; n <= count; ++n) {
      ASSERT_EQ(ApplyConfig(file_, "from").exit_code, 0);
      Outcome crashed =
          ApplyConfig(file_, "to", {}, {{"MIGSIM_FAULTS", function + "@" + std::to_string(n) + "=CRASH"}});
      EXPECT_NE(crashed.exit_code, 0) << function << "@" << n;
      Outcome rerun = ApplyConfig(file_, "to");
      ASSERT_EQ(rerun.exit_code, 0) << function << "@" << n << "\n" << rerun;
      EXPECT_EQ(Migctl({"assert", "-f", file_, "-c", "to"}).exit_code, 0);
      EXPECT_TRUE(fs::is_empty(RunDir()) ||
                  !fs::exists(RunDir() + "/gpu-" + target["gpus"][0]["uuid"].get<std::string>() + ".json"))
          << "the journal entry is resolved";
    }
  }
}

TEST_F(FaultTransition, SigkillAtRandomPointsThenARerunConverges) {
  SetUpTransition();
  std::mt19937 random(20261121);
  const Env slow = {
      {"MIGSIM_LATENCY",
       "nvmlDeviceCreateGpuInstanceWithPlacement=20ms,nvmlGpuInstanceDestroy=10ms,"
       "nvmlComputeInstanceDestroy=5ms,nvmlGpuInstanceCreateComputeInstanceWithPlacement=10ms"}};
  for (int round = 0; round < 12; ++round) {
    const std::string from = round % 2 == 0 ? "from" : "off";
    ASSERT_EQ(ApplyConfig(file_, from).exit_code, 0);
    Child child = StartMigctl({"apply", "-f", file_, "-c", "to"}, slow);
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(5, 120)(random)));
    kill(child.pid(), SIGKILL);
    child.Wait();
    Outcome rerun = ApplyConfig(file_, "to");
    ASSERT_EQ(rerun.exit_code, 0) << "round " << round << "\n" << rerun;
    EXPECT_EQ(Migctl({"assert", "-f", file_, "-c", "to"}).exit_code, 0) << "round " << round;
  }
}

TEST_F(FaultTransition, TwoAppliesAtOnceSerialize) {
  SetUpTransition();
  ASSERT_EQ(ApplyConfig(file_, "from").exit_code, 0);
  const Env slow = {
      {"MIGSIM_LATENCY", "nvmlDeviceCreateGpuInstanceWithPlacement=40ms,nvmlGpuInstanceDestroy=20ms"}};
  Child first = StartMigctl({"apply", "-f", file_, "-c", "to"}, slow);
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  Outcome impatient = ApplyConfig(file_, "from", {"--lock-timeout", "0"});
  ExpectOneLineError(impatient, kExitFailed, {"another migctl", "lock"});
  Child second = StartMigctl({"apply", "-f", file_, "-c", "from"}, slow);
  Outcome a = first.Wait();
  Outcome b = second.Wait();
  EXPECT_EQ(a.exit_code, 0) << a;
  EXPECT_EQ(b.exit_code, 0) << b;
  EXPECT_EQ(Migctl({"assert", "-f", file_, "-c", "from"}).exit_code, 0)
      << "the second apply ran after the first";
}

TEST_F(Apply, MalformedConfigsAreRefusedWithTheirPositionAndChangeNothing) {
  InitMachine("a100-80gb:2");
  const fs::path bad = fs::path(MIGCTL_SOURCE_DIR) / "tests/configs/bad";
  std::istringstream expected(ReadFile(bad / "EXPECTED"));
  const std::string before = ReadFile(state_);
  int checked = 0;
  for (std::string line; std::getline(expected, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string name, position, needle;
    fields >> name >> position;
    std::getline(fields, needle);
    needle.erase(0, needle.find_first_not_of(' '));
    const std::string path = (bad / name).string();
    Outcome o = Migctl({"apply", "-f", path, "-c", "x"});
    ExpectOneLineError(o, kExitUsage, {path + ":" + position + ":", needle});
    EXPECT_EQ(ReadFile(state_), before) << name;
    ++checked;
  }
  EXPECT_GE(checked, 20);
}

TEST_F(Apply, WhatMigPartedGetsSilentlyWrongIsAnError) {
  InitMachine("a100-80gb:2");
  struct Case {
    const char* name;
    const char* spec;
    std::vector<std::string> needles;
    Args more = {};
  };
  const std::vector<Case> cases = {
      {"unknown profile for this GPU",
       "    - devices: all\n      mig-enabled: true\n      mig-devices: {\"2g.10gb\": 3}\n",
       {"m.yaml:6:", "GPU 0", "2g.10gb", "1g.10gb"}},
      {"GPU that does not exist, with --strict (else skipped as mig-parted does)",
       "    - devices: [0, 5]\n      mig-enabled: true\n      mig-devices: {\"1g.10gb\": 1}\n",
       {"m.yaml:", "5"},
       {"--strict"}},
      {"overlapping selections",
       "    - devices: all\n      mig-enabled: true\n      mig-devices: {\"1g.10gb\": 1}\n"
       "    - devices: [1]\n      mig-enabled: false\n",
       {"m.yaml:", "1"}},
      {"layout that cannot fit",
       "    - devices: all\n      mig-enabled: true\n      mig-devices: {\"4g.40gb\": 1, \"3g.40gb\": 1, "
       "\"1g.10gb\": 1}\n",
       {"GPU 0", "m.yaml:"}},
      {"filter that matches nothing, with --strict (else nothing to do, as mig-parted)",
       "    - device-filter: \"0x233010DE\"\n      devices: all\n      mig-enabled: true\n      mig-devices: "
       "{\"1g.10gb\": 1}\n",
       {"m.yaml:"},
       {"--strict"}},
  };
  const std::string before = ReadFile(state_);
  for (const Case& c : cases) {
    const std::string file = Config("m.yaml", std::string("version: v1\nmig-configs:\n  x:\n") + c.spec);
    Outcome o = ApplyConfig(file, "x", c.more);
    EXPECT_NE(o.exit_code, 0) << c.name << "\n" << o;
    ASSERT_FALSE(Lines(o.err).empty()) << c.name;
    const std::string last = Lines(o.err).back();
    for (const std::string& n : c.needles)
      EXPECT_NE(last.find(n), std::string::npos) << c.name << ": " << n << "\n" << o;
    EXPECT_EQ(ReadFile(state_), before) << c.name;
  }
}

TEST_F(Apply, ExportAndCheckpointGiveBackTheExactState) {
  InitMachine("a100-80gb:2");
  const std::string file =
      Config("m.yaml",
             "version: v1\nmig-configs:\n  x:\n    - devices: [0]\n      mig-enabled: true\n"
             "      mig-instances:\n        - profile: 3g.40gb\n          start: 4\n"
             "          compute-instances: [1c.3g.40gb, 2c.3g.40gb]\n"
             "        - profile: 1g.10gb\n          start: 2\n          compute-instances: []\n"
             "    - devices: [1]\n      mig-enabled: true\n      mig-devices: {\"1c.3g.40gb\": 3, "
             "\"2g.20gb\": 1}\n");
  Outcome applied = ApplyConfig(file, "x");
  ASSERT_EQ(applied.exit_code, 0) << applied;
  const Json state = Checkpoint();
  ASSERT_EQ(state["gpus"][0]["gpu_instances"].size(), 2u);
  ASSERT_EQ(state["gpus"][1]["gpu_instances"].size(), 2u) << "three 1c CIs share one 3g GI, as in mig-parted";
  const std::string exported = Config("exported.yaml", RunRaw({"--sim", state_, "export"}).out);
  const std::string saved = (dir_ / "state.json").string();
  MustJson({"checkpoint", "-o", saved});
  // Wipe, then put back both ways.
  const std::string off =
      Config("off.yaml", "version: v1\nmig-configs:\n  off:\n    - devices: all\n      mig-enabled: false\n");
  ASSERT_EQ(ApplyConfig(off, "off").exit_code, 0);
  Outcome from_export = ApplyConfig(exported, "current");
  ASSERT_EQ(from_export.exit_code, 0) << from_export << ReadFile(exported);
  EXPECT_EQ(Checkpoint(), state);
  ASSERT_EQ(ApplyConfig(off, "off").exit_code, 0);
  Outcome restored = Migctl({"restore", saved});
  ASSERT_EQ(restored.exit_code, 0) << restored;
  EXPECT_EQ(Checkpoint(), state);
  EXPECT_EQ(Migctl({"restore", saved}).OutJson()["changed"], false);
}

TEST_F(Apply, HooksRunInMigPartedsOrderWithTheCallersPath) {
  InitMachine("a100-80gb:1");
  const std::string log = (dir_ / "hooks.log").string();
  const std::string hooks = Config(
      "hooks.yaml",
      "version: v1\nhooks:\n"
      "  apply-start:\n    - command: sh\n      args: [\"-c\", \"echo start $MIG_PARTED_SELECTED_CONFIG >> " +
          log +
          "\"]\n"
          "  pre-apply-mode:\n    - command: sh\n      args: [\"-c\", \"echo mode >> " +
          log +
          "\"]\n"
          "  pre-apply-config:\n    - command: sh\n      args: [\"-c\", \"echo config $GREETING >> " +
          log +
          "\"]\n"
          "      envs: {GREETING: hello}\n"
          "  apply-exit:\n    - command: sh\n      args: [\"-c\", \"echo exit >> " +
          log + "\"]\n");
  const std::string file =
      Config("m.yaml",
             "version: v1\nmig-configs:\n  x:\n    - devices: all\n      mig-enabled: true\n"
             "      mig-devices: {\"7g.80gb\": 1}\n");
  Outcome o = ApplyConfig(file, "x", {"--hooks", hooks});
  ASSERT_EQ(o.exit_code, 0) << o;
  EXPECT_EQ(ReadFile(log), "start x\nmode\nconfig hello\nexit\n");
  fs::remove(log);
  ASSERT_EQ(ApplyConfig(file, "x", {"--hooks", hooks}).exit_code, 0);
  EXPECT_EQ(ReadFile(log), "start x\nexit\n") << "nothing to change: only the start and exit hooks";
  // A failing apply-start stops the apply before anything changes, and apply-exit is not run.
  fs::remove(log);
  const std::string failing =
      Config("failing.yaml",
             "version: v1\nhooks:\n  apply-start:\n    - command: sh\n"
             "      args: [\"-c\", \"exit 4\"]\n"
             "  apply-exit:\n    - command: sh\n      args: [\"-c\", \"echo exit >> " +
                 log + "\"]\n");
  const std::string off =
      Config("off.yaml", "version: v1\nmig-configs:\n  off:\n    - devices: all\n      mig-enabled: false\n");
  const std::string before = ReadFile(state_);
  Outcome stopped = ApplyConfig(off, "off", {"--hooks", failing});
  EXPECT_EQ(stopped.exit_code, kExitFailed) << stopped;
  EXPECT_NE(stopped.err.find("apply-start"), std::string::npos) << stopped;
  EXPECT_EQ(ReadFile(state_), before);
  EXPECT_FALSE(fs::exists(log));
}

TEST_F(Apply, ServiceInstallsAVerifiedUnitThatAppliesTheLayoutAtBoot) {
  const std::string root = (dir_ / "root").string();
  fs::create_directories(root);
  const std::string config = std::string(MIGCTL_SOURCE_DIR) + "/examples/a100-80gb-x4.yaml";
  Outcome bad = RunRaw({"service", "install", "-f", config, "-c", "no-such-layout", "--root", root});
  EXPECT_EQ(bad.exit_code, kExitUsage) << bad;
  EXPECT_FALSE(fs::exists(root + "/etc/systemd/system/migctl-apply.service"))
      << "nothing written for a bad label";
  Outcome installed = RunRaw({"service", "install", "-f", config, "-c", "custom-config", "--root", root});
  ASSERT_EQ(installed.exit_code, 0) << installed;
  const std::string unit = root + "/etc/systemd/system/migctl-apply.service";
  const std::string text = ReadFile(unit);
  EXPECT_NE(text.find("apply -f /etc/migctl/mig.yaml -c custom-config"), std::string::npos) << text;
  EXPECT_NE(text.find("Type=oneshot"), std::string::npos);
  EXPECT_TRUE(fs::is_symlink(root + "/etc/systemd/system/multi-user.target.wants/migctl-apply.service"));
  EXPECT_EQ(ReadFile(root + "/etc/migctl/mig.yaml"), ReadFile(config));
  if (fs::exists("/usr/bin/systemd-analyze")) {
    Outcome verify = Start("/usr/bin/systemd-analyze", {"verify", unit}).Wait();
    EXPECT_EQ(verify.exit_code, 0) << verify;
  }
  Json status = Json::parse(RunRaw({"--json", "service", "status", "--root", root}).out);
  EXPECT_EQ(status["installed"], true);
  EXPECT_EQ(status["enabled"], true);
  EXPECT_EQ(status["label"], "custom-config");
  ASSERT_EQ(RunRaw({"service", "uninstall", "--root", root}).exit_code, 0);
  EXPECT_FALSE(fs::exists(unit));
  EXPECT_EQ(Json::parse(RunRaw({"--json", "service", "status", "--root", root}).out)["installed"], false);
}

}  // namespace
