#include "catalog/model_yaml.h"

#include <strings.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <map>
#include <optional>
#include <string>

namespace migctl {
namespace {

constexpr std::uint64_t kGiProfileIndexCount = 0x12;  ///< NVML_GPU_INSTANCE_PROFILE_COUNT in NVML 13.3.
constexpr std::uint64_t kCiProfileIndexCount = 0x9;   ///< NVML_COMPUTE_INSTANCE_PROFILE_COUNT in NVML 13.3.
constexpr std::uint64_t kMaxMemorySlots = 32;         ///< layout/ keeps occupied slots in a 32-bit mask.
constexpr std::uint64_t kMaxUnsigned = std::numeric_limits<unsigned>::max();

/// NVML_COMPUTE_INSTANCE_PROFILE_<size>_SLICE, or nullopt for a size NVML has no CI profile for.
std::optional<unsigned> CiProfileIdForSize(unsigned size) {
  switch (size) {
    case 1:
      return 0;
    case 2:
      return 1;
    case 3:
      return 2;
    case 4:
      return 3;
    case 7:
      return 4;
    case 8:
      return 5;
    case 6:
      return 6;
    default:
      return std::nullopt;
  }
}

/// Decimal or `0x` hexadecimal, the whole text; nullopt otherwise (signs, fractions, overflow).
std::optional<std::uint64_t> ParseUnsigned(std::string_view text) {
  int base = 10;
  if (text.size() > 2 && (text.starts_with("0x") || text.starts_with("0X"))) {
    text.remove_prefix(2);
    base = 16;
  }
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

/// Converts YAML nodes to values and keeps the first error; after one, reads return defaults and record
/// nothing, so that a field list reads straight down and the caller checks failed() once.
class Reader {
 public:
  explicit Reader(std::string_view file_name) : file_name_(file_name) {}

  bool failed() const { return error_.has_value(); }
  Error TakeError() { return std::move(*error_); }

  void Fail(const YAML::Mark& mark, const std::string& message) {
    if (failed()) return;
    std::string where = file_name_;
    if (!mark.is_null()) where += ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
    error_ = MakeError(ErrorCode::kInvalidInput, where + ": " + message);
  }

  std::uint64_t Unsigned(const YAML::Node& node, std::string_view what, std::uint64_t min,
                         std::uint64_t max) {
    if (failed()) return 0;
    std::optional<std::uint64_t> value;
    if (node.IsScalar()) value = ParseUnsigned(node.Scalar());
    if (!value || *value < min || *value > max) {
      Fail(node.Mark(), std::string(what) + " must be an integer from " + std::to_string(min) + " to " +
                            std::to_string(max) + (node.IsScalar() ? ", not '" + node.Scalar() + "'" : ""));
      return 0;
    }
    return *value;
  }

  std::string String(const YAML::Node& node, std::string_view what) {
    if (failed()) return "";
    if (!node.IsScalar() || node.Scalar().empty()) {
      Fail(node.Mark(), std::string(what) + " must be a non-empty string");
      return "";
    }
    return node.Scalar();
  }

  /// A sequence of integers in [min, max], strictly ascending (so also without duplicates).
  std::vector<unsigned> AscendingList(const YAML::Node& node, std::string_view what, std::uint64_t min,
                                      std::uint64_t max) {
    std::vector<unsigned> values;
    if (failed()) return values;
    if (!node.IsSequence() || node.size() == 0) {
      Fail(node.Mark(), std::string(what) + " must be a non-empty list of integers");
      return values;
    }
    for (const YAML::Node& element : node) {
      auto value = static_cast<unsigned>(Unsigned(element, what, min, max));
      if (!values.empty() && value <= values.back() && !failed()) {
        Fail(element.Mark(), std::string(what) + " must be ascending without repeats, but " +
                                 std::to_string(value) + " follows " + std::to_string(values.back()));
      }
      values.push_back(value);
    }
    return values;
  }

 private:
  std::string file_name_;
  std::optional<Error> error_;
};

/// A YAML mapping with a fixed set of keys: unknown and repeated keys are errors, and so is a missing
/// required one.
class Fields {
 public:
  Fields(Reader& reader, const YAML::Node& node, std::string_view what,
         std::initializer_list<std::string_view> known)
      : reader_(reader), node_(node), what_(what) {
    if (!node.IsMap()) {
      reader.Fail(node.Mark(), what_ + " must be a mapping of key: value");
      return;
    }
    for (const auto& entry : node) {
      const std::string& key = entry.first.Scalar();
      if (std::ranges::find(known, key) == known.end()) {
        reader.Fail(entry.first.Mark(), "unknown key '" + key + "' in " + what_);
      } else if (!values_.emplace(key, entry.second).second) {
        reader.Fail(entry.first.Mark(), "key '" + key + "' appears twice in " + what_);
      }
    }
  }

  YAML::Node Required(const std::string& key) {
    auto it = values_.find(key);
    if (it != values_.end()) return it->second;
    reader_.Fail(node_.Mark(), what_ + " lacks required key '" + key + "'");
    return YAML::Node();
  }

  std::optional<YAML::Node> Optional(const std::string& key) const {
    auto it = values_.find(key);
    return it == values_.end() ? std::nullopt : std::optional<YAML::Node>(it->second);
  }

 private:
  Reader& reader_;
  YAML::Node node_;
  std::string what_;
  std::map<std::string, YAML::Node> values_;
};

Architecture ReadArchitecture(Reader& reader, const YAML::Node& node) {
  std::string name = reader.String(node, "architecture");
  if (name == "ampere") return Architecture::kAmpere;
  if (name == "hopper") return Architecture::kHopper;
  if (name == "blackwell") return Architecture::kBlackwell;
  reader.Fail(node.Mark(), "architecture must be ampere, hopper or blackwell, not '" + name + "'");
  return Architecture::kHopper;
}

std::string ReadKey(Reader& reader, const YAML::Node& node) {
  std::string key = reader.String(node, "key");
  bool valid = std::ranges::all_of(
      key, [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
  if (!valid) reader.Fail(node.Mark(), "key must use only a-z, 0-9 and '-', not '" + key + "'");
  return key;
}

Engines ReadEngines(Reader& reader, const YAML::Node& node) {
  Fields fields(reader, node, "engines", {"ce", "dec", "enc", "jpeg", "ofa"});
  auto count = [&](const char* key) {
    return static_cast<unsigned>(reader.Unsigned(fields.Required(key), std::string("engines.") + key, 0, 64));
  };
  Engines engines;
  engines.copy = count("ce");
  engines.decoder = count("dec");
  engines.encoder = count("enc");
  engines.jpeg = count("jpeg");
  engines.ofa = count("ofa");
  return engines;
}

std::vector<CiProfile> DeriveCiProfiles(const GiProfile& gi, const std::vector<unsigned>& sizes,
                                        std::optional<unsigned> default_ci) {
  std::vector<CiProfile> profiles;
  for (unsigned size : sizes) {
    bool full_width = size == gi.compute_slices;
    CiProfile ci;
    ci.id = CiProfileId(full_width && default_ci ? *default_ci : *CiProfileIdForSize(size));
    ci.name = full_width ? gi.name : std::to_string(size) + "c." + gi.name;
    ci.compute_slices = size;
    ci.multiprocessors = gi.multiprocessors * size / gi.compute_slices;
    ci.instance_limit = gi.compute_slices / size;
    for (unsigned start = 0; start + size <= gi.compute_slices; start += size) ci.starts.push_back(start);
    ci.is_default = full_width;
    profiles.push_back(std::move(ci));
  }
  std::ranges::sort(profiles, {}, &CiProfile::id);
  return profiles;
}

/// Starts are ascending already; each placement must end inside the axis, and the limit must be reachable.
void CheckPlacements(Reader& reader, const YAML::Node& starts_node, const GiProfile& gi,
                     const YAML::Node& limit_node, unsigned memory_slots) {
  if (reader.failed()) return;
  for (std::size_t i = 0; i < gi.starts.size(); ++i) {
    if (gi.starts[i] + gi.placement_size > memory_slots) {
      reader.Fail(starts_node[i].Mark(),
                  "placement " + std::to_string(gi.starts[i]) + ":" + std::to_string(gi.placement_size) +
                      " of " + gi.name + " runs past the " + std::to_string(memory_slots) + " memory slots");
      return;
    }
  }
  if (gi.instance_limit > gi.starts.size()) {
    reader.Fail(limit_node.Mark(), "instance_limit " + std::to_string(gi.instance_limit) + " of " + gi.name +
                                       " exceeds its " + std::to_string(gi.starts.size()) + " placements");
  }
}

std::vector<unsigned> ReadCiSizes(Reader& reader, const YAML::Node& node, const GiProfile& gi) {
  std::vector<unsigned> sizes = reader.AscendingList(node, "ci_sizes", 1, gi.compute_slices);
  if (reader.failed()) return sizes;
  for (unsigned size : sizes) {
    if (!CiProfileIdForSize(size)) {
      reader.Fail(node.Mark(), "ci_sizes of " + gi.name + ": NVML has no compute-instance profile of " +
                                   std::to_string(size) + " slices");
    }
  }
  if (sizes.back() != gi.compute_slices) {
    reader.Fail(node.Mark(), "ci_sizes of " + gi.name + " must end with the GI's " +
                                 std::to_string(gi.compute_slices) + " slices (the full-width, default CI)");
  }
  return sizes;
}

/// The text after the memory figure's `gb`: the attributes (`+me`, `-me`, ``).
std::string_view Attributes(std::string_view name) {
  std::size_t gb = name.find("gb");
  return gb == std::string_view::npos ? name : name.substr(gb + 2);
}

/// `aliases`: other names of this profile, each `<slices>g.<GB>gb` with the profile's own attributes, and a
/// source saying where the name was seen.
std::vector<ProfileAlias> ReadAliases(Reader& reader, const YAML::Node& node, const GiProfile& gi) {
  std::vector<ProfileAlias> aliases;
  if (reader.failed()) return aliases;
  if (!node.IsSequence() || node.size() == 0) {
    reader.Fail(node.Mark(), "aliases of " + gi.name + " must be a non-empty list of {name, source}");
    return aliases;
  }
  const std::string prefix = std::to_string(gi.compute_slices) + "g.";
  for (const YAML::Node& element : node) {
    Fields fields(reader, element, "alias", {"name", "source"});
    YAML::Node name_node = fields.Required("name");
    ProfileAlias alias{reader.String(name_node, "alias name"),
                       reader.String(fields.Required("source"), "alias source")};
    if (reader.failed()) return aliases;
    std::string_view memory = std::string_view(alias.name).substr(std::min(alias.name.size(), prefix.size()));
    bool well_formed =
        alias.name.starts_with(prefix) && memory.find("gb") != std::string_view::npos &&
        memory.find("gb") > 0 &&
        std::ranges::all_of(memory.substr(0, memory.find("gb")), [](char c) { return c >= '0' && c <= '9'; });
    if (!well_formed || Attributes(alias.name) != Attributes(gi.name) || alias.name == gi.name)
      reader.Fail(name_node.Mark(), "alias '" + alias.name + "' of " + gi.name + " must be another '" +
                                        prefix + "<GB>gb" + std::string(Attributes(gi.name)) +
                                        "' name (same slices and attributes)");
    aliases.push_back(std::move(alias));
  }
  return aliases;
}

GiProfile ReadGiProfile(Reader& reader, const YAML::Node& node, const GpuModel& model) {
  Fields fields(
      reader, node, "GI profile",
      {"name", "id", "nvml_index", "compute_slices", "memory_mib", "multiprocessors", "engines",
       "instance_limit", "placement_size", "starts", "ci_sizes", "default_ci", "uncertain", "aliases"});
  GiProfile gi;
  YAML::Node name_node = fields.Required("name");
  gi.name = reader.String(name_node, "name");
  gi.id = ProfileId(static_cast<unsigned>(reader.Unsigned(fields.Required("id"), "id", 0, kMaxUnsigned)));
  gi.nvml_index = static_cast<unsigned>(
      reader.Unsigned(fields.Required("nvml_index"), "nvml_index", 0, kGiProfileIndexCount - 1));
  gi.compute_slices = static_cast<unsigned>(
      reader.Unsigned(fields.Required("compute_slices"), "compute_slices", 1, model.compute_slices));
  gi.memory_mib = static_cast<unsigned>(
      reader.Unsigned(fields.Required("memory_mib"), "memory_mib", 1, model.memory_mib));
  gi.multiprocessors = static_cast<unsigned>(
      reader.Unsigned(fields.Required("multiprocessors"), "multiprocessors", 1, model.multiprocessors));
  gi.engines = ReadEngines(reader, fields.Required("engines"));
  YAML::Node limit_node = fields.Required("instance_limit");
  gi.instance_limit =
      static_cast<unsigned>(reader.Unsigned(limit_node, "instance_limit", 1, model.compute_slices));
  gi.placement_size = static_cast<unsigned>(
      reader.Unsigned(fields.Required("placement_size"), "placement_size", 1, model.memory_slots));
  YAML::Node starts_node = fields.Required("starts");
  gi.starts = reader.AscendingList(starts_node, "starts", 0, model.memory_slots - 1);
  CheckPlacements(reader, starts_node, gi, limit_node, model.memory_slots);
  if (!reader.failed() && !gi.name.starts_with(std::to_string(gi.compute_slices) + "g.")) {
    reader.Fail(name_node.Mark(), "name '" + gi.name + "' must start with '" +
                                      std::to_string(gi.compute_slices) + "g.' to match compute_slices");
  }
  gi.media = MediaKindFromName(gi.name);
  std::vector<unsigned> ci_sizes = ReadCiSizes(reader, fields.Required("ci_sizes"), gi);
  std::optional<unsigned> default_ci;
  if (auto value = fields.Optional("default_ci")) {
    default_ci = static_cast<unsigned>(reader.Unsigned(*value, "default_ci", 0, kCiProfileIndexCount - 1));
    bool taken = std::ranges::any_of(ci_sizes, [&](unsigned size) {
      return size != gi.compute_slices && CiProfileIdForSize(size) == default_ci;
    });
    if (taken && !reader.failed()) {
      reader.Fail(value->Mark(), "default_ci " + std::to_string(*default_ci) + " of " + gi.name +
                                     " is already the id of a smaller CI profile");
    }
  }
  if (auto value = fields.Optional("uncertain")) gi.uncertain = reader.String(*value, "uncertain");
  if (auto value = fields.Optional("aliases")) gi.aliases = ReadAliases(reader, *value, gi);
  if (!reader.failed()) gi.ci_profiles = DeriveCiProfiles(gi, ci_sizes, default_ci);
  return gi;
}

/// Reports the second of two profiles that share `what` (compared by `same`), at that profile's node.
template <typename Same>
void CheckUnique(Reader& reader, const std::vector<GiProfile>& profiles, const YAML::Node& nodes,
                 const char* what, Same same) {
  for (std::size_t i = 0; i < profiles.size() && !reader.failed(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (same(profiles[i], profiles[j])) {
        reader.Fail(nodes[i].Mark(),
                    "GI profiles " + profiles[j].name + " and " + profiles[i].name + " share " + what);
        break;
      }
    }
  }
}

/// Every name and alias of a model names one profile (compared case-insensitively).
void CheckAliasesUnique(Reader& reader, const std::vector<GiProfile>& profiles, const YAML::Node& nodes) {
  std::map<std::string, std::string> owner;  // lower-cased name -> profile
  auto lower = [](std::string text) {
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
  };
  for (const GiProfile& p : profiles) owner.emplace(lower(p.name), p.name);
  for (std::size_t i = 0; i < profiles.size() && !reader.failed(); ++i) {
    for (const ProfileAlias& alias : profiles[i].aliases) {
      auto [it, inserted] = owner.emplace(lower(alias.name), profiles[i].name);
      if (!inserted) {
        reader.Fail(nodes[i].Mark(), "alias '" + alias.name + "' of " + profiles[i].name +
                                         " is already a name or alias of " + it->second);
        return;
      }
    }
  }
}

std::vector<GiProfile> ReadGiProfiles(Reader& reader, const YAML::Node& node, const GpuModel& model) {
  std::vector<GiProfile> profiles;
  if (reader.failed()) return profiles;
  if (!node.IsSequence() || node.size() == 0) {
    reader.Fail(node.Mark(), "gi_profiles must be a non-empty list of GI profiles");
    return profiles;
  }
  for (const YAML::Node& element : node) profiles.push_back(ReadGiProfile(reader, element, model));
  CheckUnique(reader, profiles, node, "a profile id", [](auto& a, auto& b) { return a.id == b.id; });
  CheckUnique(reader, profiles, node, "an nvml_index",
              [](auto& a, auto& b) { return a.nvml_index == b.nvml_index; });
  CheckUnique(reader, profiles, node, "a name (names compare case-insensitively)", [](auto& a, auto& b) {
    return a.name.size() == b.name.size() && strncasecmp(a.name.data(), b.name.data(), a.name.size()) == 0;
  });
  CheckAliasesUnique(reader, profiles, node);
  std::ranges::sort(profiles, {}, &GiProfile::nvml_index);
  return profiles;
}

GpuModel ReadModel(Reader& reader, const YAML::Node& root) {
  Fields fields(reader, root, "the model",
                {"key", "product_name", "pci_device_ids", "architecture", "memory_slots", "compute_slices",
                 "multiprocessors", "memory_mib", "notes", "gi_profiles"});
  GpuModel model;
  model.key = ReadKey(reader, fields.Required("key"));
  model.product_name = reader.String(fields.Required("product_name"), "product_name");
  model.pci_device_ids = reader.AscendingList(fields.Required("pci_device_ids"), "pci_device_ids", 0, 0xFFFF);
  model.architecture = ReadArchitecture(reader, fields.Required("architecture"));
  model.memory_slots = static_cast<unsigned>(
      reader.Unsigned(fields.Required("memory_slots"), "memory_slots", 1, kMaxMemorySlots));
  model.compute_slices = static_cast<unsigned>(
      reader.Unsigned(fields.Required("compute_slices"), "compute_slices", 1, model.memory_slots));
  model.multiprocessors = static_cast<unsigned>(
      reader.Unsigned(fields.Required("multiprocessors"), "multiprocessors", 1, kMaxUnsigned));
  model.memory_mib = reader.Unsigned(fields.Required("memory_mib"), "memory_mib", 1, kMaxUnsigned);
  model.notes = reader.String(fields.Required("notes"), "notes");
  model.gi_profiles = ReadGiProfiles(reader, fields.Required("gi_profiles"), model);
  return model;
}

}  // namespace

Result<GpuModel> ParseModelYaml(std::string_view text, std::string_view file_name) {
  Reader reader(file_name);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    reader.Fail(e.mark, "not valid YAML: " + e.msg);
    return reader.TakeError();
  }
  GpuModel model = ReadModel(reader, root);
  if (reader.failed()) return reader.TakeError();
  return model;
}

}  // namespace migctl
