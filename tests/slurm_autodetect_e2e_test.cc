// Slurm's own NVML autodetection (gres.conf `AutoDetect=nvml`, Debian's gpu/nvml plugin) against libmigsim,
// through `slurmd -G` (tests/slurm/autodetect.sh): the GPUs slurmd finds on a simulated machine are the ones
// `migctl slurm gres` describes: as many, the same device files and MIG UUIDs, migctl's type a substring of
// Slurm's name; and `migctl exec` pins a step to the device Slurm numbered, though Slurm's order is its own. Needs root, slurmd and the contrib plugin
// (downloaded once into a cache, or PLUGIN_DEB); without them a test is skipped, except under CI=true, where
// it fails.
#include <algorithm>
#include <functional>

#include "e2e_harness.h"

namespace {

/// One GPU as slurmd printed it.
struct SlurmGpu {
  std::string type;
  std::string files;      ///< Comma-separated, as Slurm joins them.
  std::string unique_id;  ///< The MIG UUID (`detected` records only).
};

/// The value of `key` in a slurmd line (`Type=` in GRES lines, `Type:` in detected records), up to a space.
std::string Field(const std::string& line, const std::string& key) {
  const size_t at = line.find(" " + key);
  if (at == std::string::npos) return "";
  const size_t start = at + 1 + key.size();
  return line.substr(start, line.find(' ', start) - start);
}

class SlurmAutodetect : public E2e {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0 || ::access("/usr/sbin/slurmd", X_OK) != 0) {
      missing_ = "needs root and slurmd (./dev.sh installs it)";
      return;
    }
    // Fetches and extracts the plugin once, into the script's cache.
    std::string out = (fs::temp_directory_path() / "migctl-autodetect-plugin.out").string();
    std::string err = (fs::temp_directory_path() / "migctl-autodetect-plugin.err").string();
    Outcome o = Child("/bin/bash", {Script(), "plugin"}, {}, out, err).Wait();
    if (o.exit_code == 77) missing_ = "the slurm-wlm-nvml-plugin package cannot be had: " + o.err;
    if (o.exit_code != 0 && o.exit_code != 77) plugin_error_ = "autodetect.sh plugin: " + o.err;
  }

  void SetUp() override {
    E2e::SetUp();
    if (!missing_.empty()) {
      if (std::getenv("CI") != nullptr && std::string(std::getenv("CI")) == "true") FAIL() << missing_;
      GTEST_SKIP() << missing_;
    }
    ASSERT_TRUE(plugin_error_.empty()) << plugin_error_;
  }

  static std::string Script() { return std::string(MIGCTL_SOURCE_DIR) + "/tests/slurm/autodetect.sh"; }

  /// `autodetect.sh MODE STATE`: slurmd's `gres` lines or its `detected` records, parsed.
  std::vector<SlurmGpu> Slurmd(const std::string& mode) {
    const std::string bin = fs::path(MIGCTL_BINARY).parent_path().string();
    Outcome o = Start("/bin/bash", {Script(), mode, state_},
                      {{"MIGCTL", MIGCTL_BINARY}, {"MIGSIM_LIB", bin + "/libmigsim.so"}})
                    .Wait();
    EXPECT_EQ(o.exit_code, 0) << o;
    const bool detected = mode == "detected";
    std::vector<SlurmGpu> gpus;
    for (const std::string& line : Lines(o.out)) {
      gpus.push_back({Field(line, detected ? "Type:" : "Type="), Field(line, detected ? "File:" : "File="),
                      detected ? Field(line, "UniqueId:") : ""});
    }
    return gpus;
  }

  /// `migctl slurm gres --json` with the device files named as on a real node (`/dev/...`).
  Json MigctlGres() {
    const std::string root = (dir_ / "root").string();
    Outcome made = RunRaw({"--sim", state_, "sim", "devices", root});
    EXPECT_EQ(made.exit_code, kExitOk) << made;
    Json gres = MustJson({"slurm", "gres", "--node", "n1", "--root", root});
    for (Json& device : gres["devices"]) {
      std::string joined;
      for (const Json& file : device["files"]) {
        joined += (joined.empty() ? "" : ",") + file.get<std::string>().substr(root.size());
      }
      device["joined_files"] = joined;
    }
    return gres["devices"];
  }

  /// Slurm detects exactly migctl's devices: as many, the same files, the MIG UUID as UniqueId (whole GPUs
  /// have none), and migctl's type a substring of the name Slurm gives it.
  void ExpectSlurmDetectsMigctlsDevices() {
    const Json ours = MigctlGres();
    const std::vector<SlurmGpu> detected = Slurmd("detected");
    ASSERT_EQ(detected.size(), ours.size()) << "devices NVML autodetection finds vs migctl's";
    for (const Json& device : ours) {
      const std::string files = device["joined_files"];
      auto it =
          std::find_if(detected.begin(), detected.end(), [&](const SlurmGpu& g) { return g.files == files; });
      ASSERT_NE(it, detected.end()) << "Slurm did not detect " << files;
      const bool whole_gpu = device["profile"].get<std::string>().empty();
      EXPECT_EQ(it->unique_id, whole_gpu ? "(null)" : device["uuid"].get<std::string>()) << files;
      EXPECT_NE(it->type.find(device["type"].get<std::string>()), std::string::npos)
          << "migctl's type " << device["type"] << " is not a substring of Slurm's " << it->type;
    }
    EXPECT_EQ(Slurmd("gres").size(), ours.size())
        << "slurmd dropped devices when matching slurm.conf's Gres=";
  }

  /// Slurm numbers autodetected devices in an order of its own (by MIG index on its GPU, then device files),
  /// not migctl's by type, and sets every step's CUDA_VISIBLE_DEVICES to the UniqueId, the MIG UUID. So
  /// `migctl exec`, given Slurm's index i and that UUID, must pin the step to the device Slurm numbers i, as
  /// slurmd itself lists it: never to migctl's own device i.
  void ExpectExecPinsWhatSlurmAllocated() {
    const std::vector<SlurmGpu> detected = Slurmd("detected");
    const std::vector<SlurmGpu> used = Slurmd("gres");
    bool orders_differ = false;
    const Json ours = MigctlGres();
    for (size_t i = 0; i < used.size(); ++i) {
      auto it = std::find_if(detected.begin(), detected.end(), [&](const SlurmGpu& g) { return g.files == used[i].files; });
      ASSERT_NE(it, detected.end());
      if (it->unique_id == "(null)") continue;  // a whole GPU: Slurm sets its index, as without AutoDetect
      orders_differ |= ours[i]["uuid"] != it->unique_id;
      Outcome o = Migctl({"exec", "--dry-run"}, {{"SLURM_JOB_ID", "1"},
                                                 {"SLURM_STEP_GPUS", std::to_string(i)},
                                                 {"CUDA_VISIBLE_DEVICES", it->unique_id}});
      ASSERT_EQ(o.exit_code, kExitOk) << o;
      EXPECT_EQ(o.OutJson()["cuda_visible_devices"], it->unique_id) << "Slurm's index " << i;
    }
    if (ours.size() > 2) {
      EXPECT_TRUE(orders_differ) << "Slurm's autodetected order now equals migctl's: simplify";
    }
  }

  /// The layouts: two H100s with mixed profiles, an A100 in MIG mode beside a whole one, an H200 (whose
  /// profile names are not Slurm's: 1g.18gb has 16 GiB).
  void H100MixedOnTwoGpus() {
    InitMigMachine("h100-80gb:2");
    MustJson({"create", "-i", "1", "2g.20gb", "1g.10gb"});
    MustJson({"create", "-i", "0", "3g.40gb", "1g.10gb", "1g.20gb"});
  }
  void A100BesideAWholeGpu() {
    InitMachine("a100-40gb:2");
    EnableMig("0");
    MustJson({"create", "-i", "0", "3g.20gb", "2g.10gb", "1g.5gb", "1g.5gb"});
  }
  void H200() {
    InitMigMachine("h200-141gb:1");
    MustJson({"create", "-i", "0", "1g.18gb", "2g.35gb", "3g.71gb"});
  }

  static inline std::string missing_;
  static inline std::string plugin_error_;
};

TEST_F(SlurmAutodetect, H100MixedProfilesOnTwoGpus) {
  H100MixedOnTwoGpus();
  ExpectSlurmDetectsMigctlsDevices();
}

TEST_F(SlurmAutodetect, A100InMigModeBesideAWholeGpu) {
  A100BesideAWholeGpu();
  ExpectSlurmDetectsMigctlsDevices();
}

TEST_F(SlurmAutodetect, H200WhoseProfileNamesAreNotSlurms) {
  H200();
  ExpectSlurmDetectsMigctlsDevices();
}

TEST_F(SlurmAutodetect, ExecPinsTheDeviceSlurmNumbered) {
  const std::vector<std::pair<std::string, std::function<void()>>> layouts = {
      {"h100", [this] { H100MixedOnTwoGpus(); }},
      {"a100", [this] { A100BesideAWholeGpu(); }},
      {"h200", [this] { H200(); }}};
  for (const auto& [name, layout] : layouts) {
    SCOPED_TRACE(name);
    state_ = (dir_ / (name + ".json")).string();
    layout();
    ExpectExecPinsWhatSlurmAllocated();
  }
}

}  // namespace
