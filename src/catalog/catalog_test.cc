#include "catalog/catalog.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace migctl {
namespace {

const GpuModel& Model(std::string_view key) {
  auto model = FindModel(key);
  EXPECT_TRUE(model.ok()) << key;
  return **model;
}

TEST(BuiltinModels, AreTheEightKnownModelsSortedByKey) {
  std::vector<std::string> keys;
  for (const GpuModel& model : BuiltinModels()) keys.push_back(model.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"a100-40gb", "a100-80gb", "a30-24gb", "b200-180gb", "gh200-96gb",
                                            "h100-80gb", "h100-94gb", "h200-141gb"}));
}

TEST(BuiltinModels, DescribeTheirWholeGpu) {
  const GpuModel& a30 = Model("a30-24gb");
  EXPECT_EQ(a30.memory_slots, 4u);
  EXPECT_EQ(a30.compute_slices, 4u);
  EXPECT_TRUE(a30.ModeChangeNeedsReset());
  const GpuModel& h100 = Model("h100-80gb");
  EXPECT_EQ(h100.memory_slots, 8u);
  EXPECT_EQ(h100.compute_slices, 7u);
  EXPECT_EQ(h100.memory_mib, 81559u);
  EXPECT_EQ(h100.pci_device_ids, (std::vector<unsigned>{0x2330}));
  EXPECT_FALSE(h100.ModeChangeNeedsReset());
  EXPECT_EQ(Model("b200-180gb").architecture, Architecture::kBlackwell);
  EXPECT_EQ(Model("h200-141gb").memory_mib, 143771u);
}

void ExpectConsistent(const GpuModel& model) {
  SCOPED_TRACE(model.key);
  EXPECT_FALSE(model.product_name.empty());
  EXPECT_FALSE(model.pci_device_ids.empty());
  EXPECT_FALSE(model.notes.empty());
  ASSERT_FALSE(model.gi_profiles.empty());
  std::set<unsigned> ids, indexes;
  std::set<std::string> names;
  unsigned previous_index = 0;
  bool has_whole_gpu = false;
  for (const GiProfile& gi : model.gi_profiles) {
    SCOPED_TRACE(gi.name);
    EXPECT_TRUE(ids.insert(gi.id.value()).second);
    EXPECT_TRUE(indexes.insert(gi.nvml_index).second);
    EXPECT_TRUE(names.insert(gi.name).second);
    EXPECT_GE(gi.nvml_index, previous_index);
    previous_index = gi.nvml_index;
    EXPECT_GE(gi.compute_slices, 1u);
    EXPECT_LE(gi.compute_slices, model.compute_slices);
    EXPECT_GE(gi.instance_limit, 1u);
    EXPECT_LE(gi.instance_limit, gi.starts.size());
    EXPECT_LE(gi.memory_mib, model.memory_mib);
    EXPECT_LE(gi.multiprocessors, model.multiprocessors);
    ASSERT_FALSE(gi.starts.empty());
    EXPECT_TRUE(std::ranges::is_sorted(gi.starts));
    EXPECT_EQ(std::ranges::adjacent_find(gi.starts), gi.starts.end());
    for (unsigned start : gi.starts) EXPECT_LE(start + gi.placement_size, model.memory_slots);
    EXPECT_EQ(gi.name.substr(0, 3), std::to_string(gi.compute_slices) + "g.");
    has_whole_gpu |= gi.compute_slices == model.compute_slices && gi.placement_size == model.memory_slots;

    const CiProfile* default_ci = gi.DefaultCiProfile();
    ASSERT_NE(default_ci, nullptr);
    EXPECT_EQ(default_ci->compute_slices, gi.compute_slices);
    EXPECT_EQ(default_ci->name, gi.name);
    EXPECT_EQ(default_ci->multiprocessors, gi.multiprocessors);
    EXPECT_EQ(std::ranges::count_if(gi.ci_profiles, &CiProfile::is_default), 1);
    std::set<unsigned> ci_ids;
    for (const CiProfile& ci : gi.ci_profiles) {
      EXPECT_TRUE(ci_ids.insert(ci.id.value()).second) << ci.name;
      EXPECT_GE(ci.instance_limit, 1u);
      EXPECT_LE(ci.instance_limit, ci.starts.size());
      for (unsigned start : ci.starts) EXPECT_LE(start + ci.compute_slices, gi.compute_slices) << ci.name;
    }
  }
  EXPECT_TRUE(has_whole_gpu) << "no profile spans the whole GPU";
}

TEST(BuiltinModels, AreSelfConsistent) {
  for (const GpuModel& model : BuiltinModels()) ExpectConsistent(model);
}

TEST(BuiltinModels, OfferTheCiProfilesSeenOnA100) {
  const GpuModel& h100 = Model("h100-80gb");
  auto ci_ids = [](const GiProfile* gi) {
    std::vector<unsigned> ids;
    for (const CiProfile& ci : gi->ci_profiles) ids.push_back(ci.id.value());
    return ids;
  };
  EXPECT_EQ(ci_ids(h100.FindProfile("7g.80gb")), (std::vector<unsigned>{0, 1, 2, 3, 4}));
  EXPECT_EQ(ci_ids(h100.FindProfile("4g.40gb")), (std::vector<unsigned>{0, 1, 3}));  // no 3c in a 4g
  EXPECT_EQ(ci_ids(h100.FindProfile("3g.40gb")), (std::vector<unsigned>{0, 1, 2}));
  EXPECT_EQ(h100.FindProfile("3g.40gb")->DefaultCiProfile()->id, CiProfileId(2));
  EXPECT_EQ(h100.FindProfile("1g.20gb")->DefaultCiProfile()->id, CiProfileId(7));
  EXPECT_EQ(h100.FindProfile("1g.10gb")->DefaultCiProfile()->id, CiProfileId(0));
  const CiProfile& three = h100.FindProfile("7g.80gb")->ci_profiles[2];
  EXPECT_EQ(three.name, "3c.7g.80gb");
  EXPECT_EQ(three.starts, (std::vector<unsigned>{0, 3}));
  EXPECT_EQ(three.instance_limit, 2u);
  EXPECT_EQ(three.multiprocessors, 56u);  // 132 * 3 / 7, rounded down
}

TEST(BuiltinModels, MarkMediaKinds) {
  const GpuModel& a30 = Model("a30-24gb");
  EXPECT_EQ(a30.FindProfile("1g.6gb+me")->media, MediaKind::kMe);
  EXPECT_EQ(a30.FindProfile("2g.12gb+me")->media, MediaKind::kMe);
  EXPECT_EQ(a30.FindProfile("2g.12gb")->media, MediaKind::kDefault);
  EXPECT_EQ(a30.FindProfile("2g.12gb+me")->instance_limit, 1u);
  EXPECT_EQ(a30.FindProfile("1g.6gb")->instance_limit, 4u);
}

// The recordings of real GPUs are the ground truth for h100-80gb and h200-141gb.
struct Recording {
  std::string product_name;
  std::map<unsigned, std::string> lines;  ///< Supported index → its line.
  std::set<unsigned> unsupported;
};

Recording ReadRecording(const std::string& file) {
  std::ifstream in(std::string(MIGCTL_SOURCE_DIR) + "/tests/fixtures/hardware/" + file);
  EXPECT_TRUE(in.is_open()) << file;
  Recording recording;
  std::string line;
  std::getline(in, line);
  std::smatch match;
  if (std::regex_match(line, match, std::regex(R"(gpu 0 (.+) GPU-[0-9a-f-]+ mig=.*)"))) {
    recording.product_name = match[1];
  }
  const std::regex supported(R"(\s+index (\d+) -> .*)");
  const std::regex unsupported(R"(\s+index (\d+): v1 Not Supported, V Not Supported)");
  while (std::getline(in, line)) {
    if (std::regex_match(line, match, supported)) recording.lines[std::stoul(match[1])] = line;
    if (std::regex_match(line, match, unsupported)) recording.unsupported.insert(std::stoul(match[1]));
  }
  return recording;
}

std::string PlacementsOf(const GiProfile& gi) {
  std::string text;
  for (unsigned start : gi.starts) {
    text += (text.empty() ? "" : " ") + std::to_string(start) + ":" + std::to_string(gi.placement_size);
  }
  return text;
}

/// The recording's line for this profile, rebuilt from the model.
std::string LineOf(const GiProfile& gi) {
  std::ostringstream line;
  const Engines& e = gi.engines;
  line << "  index " << gi.nvml_index << " -> id " << gi.id.value() << " slices " << gi.compute_slices
       << " max " << gi.instance_limit << " sms " << gi.multiprocessors << " ce " << e.copy << " dec "
       << e.decoder << " enc " << e.encoder << " jpg " << e.jpeg << " ofa " << e.ofa << " memMB "
       << gi.memory_mib << " p2p 0 | V:Success name='MIG " << gi.name
       << "' | placements(Success): " << PlacementsOf(gi);
  return line.str();
}

void ExpectEqualsRecording(const GpuModel& model, const std::string& file) {
  SCOPED_TRACE(file);
  Recording recording = ReadRecording(file);
  EXPECT_EQ(model.product_name, recording.product_name);
  ASSERT_EQ(recording.lines.size(), 7u);
  EXPECT_EQ(recording.unsupported.size(), 10u);
  for (const auto& [index, line] : recording.lines) {
    auto gi = std::ranges::find(model.gi_profiles, index, &GiProfile::nvml_index);
    ASSERT_NE(gi, model.gi_profiles.end()) << "no profile for supported index " << index;
    EXPECT_EQ(LineOf(*gi), line);
  }
  for (unsigned index : recording.unsupported) {
    EXPECT_EQ(std::ranges::count(model.gi_profiles, index, &GiProfile::nvml_index), 0)
        << "index " << index << " answers Not Supported on the real GPU";
  }
  EXPECT_EQ(model.gi_profiles.size(), recording.lines.size());
}

TEST(BuiltinModels, H100EqualsTheRealGpu) {
  ExpectEqualsRecording(Model("h100-80gb"), "h100-80gb-hbm3.nvml-profiles.txt");
}

TEST(BuiltinModels, H200EqualsTheRealGpu) {
  ExpectEqualsRecording(Model("h200-141gb"), "h200-141gb.nvml-profiles.txt");
}

TEST(FindModel, FindsAKeyInAnyCase) {
  auto model = FindModel("H100-80GB");
  ASSERT_TRUE(model.ok());
  EXPECT_EQ((*model)->key, "h100-80gb");
}

TEST(FindModel, ListsTheKnownKeysWhenNothingMatches) {
  auto model = FindModel("h100");
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(model.error().message,
            "unknown GPU model 'h100'; known models: a100-40gb, a100-80gb, a30-24gb, b200-180gb, gh200-96gb, "
            "h100-80gb, h100-94gb, h200-141gb (see `migctl layouts --help`)");
}

TEST(IdentifyModel, MatchesThePciDeviceIdFirst) {
  EXPECT_EQ(IdentifyModel("NVIDIA H100 80GB HBM3", 0x233010DE)->key, "h100-80gb");
  EXPECT_EQ(IdentifyModel("renamed by a new driver", 0x233510DE)->key, "h200-141gb");
  EXPECT_EQ(IdentifyModel("NVIDIA H200 NVL", 0x233B10DE)->key, "h200-141gb");
  EXPECT_EQ(IdentifyModel("NVIDIA A100-PCIE-40GB", 0x20F110DE)->key, "a100-40gb");
}

TEST(IdentifyModel, FallsBackToTheExactProductName) {
  EXPECT_EQ(IdentifyModel("NVIDIA H200", 0)->key, "h200-141gb");
  EXPECT_EQ(IdentifyModel("NVIDIA A30", 0xFFFF10DE)->key, "a30-24gb");
  EXPECT_EQ(IdentifyModel("nvidia h200", 0), nullptr);
}

TEST(IdentifyModel, ReturnsNullForAnUnknownGpu) {
  EXPECT_EQ(IdentifyModel("NVIDIA H100 PCIe", 0x233110DE), nullptr);
  EXPECT_EQ(IdentifyModel("", 0), nullptr);
  EXPECT_EQ(IdentifyModel("Some GPU", 0x23301002), nullptr);  // H100's device id under another vendor
}

TEST(FindProfile, AcceptsNamesWithOrWithoutThePrefixInAnyCase) {
  const GpuModel& h100 = Model("h100-80gb");
  const GiProfile* three = h100.FindProfile("3g.40gb");
  ASSERT_NE(three, nullptr);
  EXPECT_EQ(three->id, ProfileId(9));
  EXPECT_EQ(h100.FindProfile("MIG 3g.40gb"), three);
  EXPECT_EQ(h100.FindProfile("mig 3G.40GB"), three);
  EXPECT_EQ(h100.FindProfile("1g.10gb+me")->id, ProfileId(20));
}

TEST(FindProfile, AcceptsADecimalProfileId) {
  const GpuModel& h100 = Model("h100-80gb");
  EXPECT_EQ(h100.FindProfile("15")->name, "1g.20gb");
  EXPECT_EQ(h100.FindProfile("0")->name, "7g.80gb");
  EXPECT_EQ(h100.FindProfile(ProfileId(19))->name, "1g.10gb");
  EXPECT_EQ(h100.FindProfile("MIG 15"), nullptr);
}

TEST(FindProfile, ReturnsNullWhenNothingMatches) {
  const GpuModel& h100 = Model("h100-80gb");
  EXPECT_EQ(h100.FindProfile("3g.20gb"), nullptr);
  EXPECT_EQ(h100.FindProfile(""), nullptr);
  EXPECT_EQ(h100.FindProfile("MIG "), nullptr);
  EXPECT_EQ(h100.FindProfile("1"), nullptr);
  EXPECT_EQ(h100.FindProfile("-1"), nullptr);
  EXPECT_EQ(h100.FindProfile(ProfileId(21)), nullptr);
}

// Aliases are names some driver gives this very model's profile, each with its source; nothing else.
TEST(FindAlias, KnowsTheA100_80gbDriverNamesAndNothingElse) {
  const GpuModel& a100 = Model("a100-80gb");
  auto [seven, alias] = a100.FindAlias("7g.79gb");
  ASSERT_NE(seven, nullptr);
  EXPECT_EQ(seven->name, "7g.80gb");
  EXPECT_NE(alias->source.find("gpu-operator #351"), std::string::npos) << alias->source;
  EXPECT_EQ(a100.FindAlias("3g.39gb").first, a100.FindProfile("3g.40gb"));
  EXPECT_EQ(a100.FindProfile("7g.79gb"), nullptr);
  EXPECT_EQ(a100.FindAlias("7g.81gb").first, nullptr);
  EXPECT_EQ(Model("h100-80gb").FindAlias("7g.79gb").first, nullptr);
  for (const GpuModel& model : BuiltinModels())
    for (const GiProfile& p : model.gi_profiles)
      for (const ProfileAlias& a : p.aliases) EXPECT_FALSE(a.source.empty()) << model.key << " " << a.name;
}

TEST(ArchitectureName, NamesEachArchitecture) {
  EXPECT_STREQ(ArchitectureName(Architecture::kAmpere), "ampere");
  EXPECT_STREQ(ArchitectureName(Architecture::kHopper), "hopper");
  EXPECT_STREQ(ArchitectureName(Architecture::kBlackwell), "blackwell");
}

TEST(MediaKindFromName, ReadsTheSuffix) {
  EXPECT_EQ(MediaKindFromName("1g.10gb"), MediaKind::kDefault);
  EXPECT_EQ(MediaKindFromName("1g.10gb+me"), MediaKind::kMe);
  EXPECT_EQ(MediaKindFromName("1g.10gb+me.all"), MediaKind::kAllMe);
  EXPECT_EQ(MediaKindFromName("2g.20gb-me"), MediaKind::kNoMe);
  EXPECT_EQ(MediaKindFromName("1g.24gb+gfx"), MediaKind::kDefault);
}

}  // namespace
}  // namespace migctl
