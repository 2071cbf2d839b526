#include "spec/config.h"

#include "common/file_io.h"

#include <fcntl.h>
#include <unistd.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "common/gpu_selector.h"
#include "spec/quote.h"

namespace migctl::spec {
namespace {

/// Larger than any real config (mig-parted's 81-layout default is 20 KiB) by far; a bigger file is not one.
constexpr size_t kMaxFileBytes = 4 << 20;
/// No GPU has more than 8 slices; a larger count or start is a typo, and bounding it keeps later loops small.
constexpr unsigned kMaxCount = 64;
constexpr unsigned kMaxStart = 63;
constexpr unsigned kMaxGpuIndex = 65535;
/// `<<` merges nested deeper than this are rejected (yaml-cpp lets an alias refer to its own anchor).
constexpr int kMaxMergeDepth = 8;
/// Aliases let a few bytes stand for many nodes (a list of aliases of a list of aliases ...); reading stops
/// after this many map entries and list elements. mig-parted's 613-line default config has a few thousand.
constexpr size_t kMaxNodesRead = 50000;

constexpr std::string_view kIntTag = "tag:yaml.org,2002:int";
constexpr std::string_view kBoolTag = "tag:yaml.org,2002:bool";

SourcePos PosOf(const YAML::Mark& mark) {
  if (mark.is_null() || mark.line < 0 || mark.column < 0) return {};
  return {static_cast<unsigned>(mark.line) + 1, static_cast<unsigned>(mark.column) + 1};
}

/// The node's position, or `fallback` for a node without one (yaml-cpp marks an empty value at the next
/// token, so callers pass the key's position).
SourcePos PosOf(const YAML::Node& node, SourcePos fallback) {
  SourcePos pos = PosOf(node.Mark());
  return node.IsNull() || pos.line == 0 ? fallback : pos;
}

/// Line and byte column of `offset` in `text`, 1-based.
SourcePos PosAt(std::string_view text, size_t offset) {
  SourcePos pos{1, 1};
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++pos.line;
      pos.column = 1;
    } else {
      ++pos.column;
    }
  }
  return pos;
}

/// A plain scalar (no quotes, no tag) or one tagged `tag`: what YAML resolves by content.
bool IsPlainOr(const YAML::Node& node, std::string_view tag) {
  return node.Tag() == "?" || node.Tag() == tag;
}

/// What a node is, for messages: `a list`, `a map`, `empty`, `the single value '7'`.
std::string KindOf(const YAML::Node& node) {
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a map";
  if (node.IsScalar()) return "the single value " + Quote(node.Scalar());
  return "empty";
}

/// Where `text` stops being printable UTF-8 as YAML allows it, and what is there; nullopt when it does not.
std::optional<std::pair<size_t, std::string>> FindNonText(std::string_view text) {
  const std::string_view hint = "(is this the config file?)";
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
        return std::pair(
            i, fmt::format("control character U+{:04X} is not allowed in YAML; remove it {}", c, hint));
      ++i;
      continue;
    }
    size_t length = 0;
    std::uint32_t code = 0;
    std::uint32_t smallest = 0;
    if ((c & 0xe0) == 0xc0) {
      length = 2, code = c & 0x1f, smallest = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      length = 3, code = c & 0x0f, smallest = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      length = 4, code = c & 0x07, smallest = 0x10000;
    }
    bool valid = length != 0 && i + length <= text.size();
    for (size_t k = 1; valid && k < length; ++k) {
      auto next = static_cast<unsigned char>(text[i + k]);
      valid = (next & 0xc0) == 0x80;
      code = code << 6 | (next & 0x3f);
    }
    valid = valid && code >= smallest && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff);
    if (!valid)
      return std::pair(i,
                       fmt::format("byte 0x{:02X} is not UTF-8 text; save the config as UTF-8 {}", c, hint));
    if ((code <= 0x9f && code != 0x85) || code == 0xfffe || code == 0xffff)
      return std::pair(
          i, fmt::format("control character U+{:04X} is not allowed in YAML; remove it {}", code, hint));
    i += length;
  }
  return std::nullopt;
}

/// The offset of a tab in the indentation of line `line` (1-based), a line that is not blank; nullopt when
/// there is none. Used only where yaml-cpp failed on that line: yaml-cpp accepts tabs where YAML does (inside
/// flow collections, after a key), so a tab in the indentation of the failing line is what went wrong.
std::optional<size_t> FindIndentTab(std::string_view text, unsigned line) {
  size_t begin = 0;
  for (unsigned n = 1; n < line; ++n) {
    begin = text.find('\n', begin);
    if (begin == std::string_view::npos) return std::nullopt;
    ++begin;
  }
  size_t content = text.find_first_not_of(" \t", begin);
  if (content == std::string_view::npos || text[content] == '\n' || text[content] == '\r')
    return std::nullopt;
  size_t tab = text.find('\t', begin);
  if (tab == std::string_view::npos || tab > content) return std::nullopt;
  return tab;
}

/// One `key: value` of a YAML map.
struct Entry {
  std::string key;
  SourcePos key_pos;
  YAML::Node value;
  /// Where to point at the value: its own position, or the key's when it is empty.
  SourcePos value_pos() const { return PosOf(value, key_pos); }
};

/// Turns a parsed YAML document into a ConfigFile, stopping at the first problem with an error that points
/// at it.
class ConfigReader {
 public:
  explicit ConfigReader(std::string_view path) : path_(path) {}

  Error Fail(SourcePos pos, std::string_view message) const {
    if (pos.line == 0) pos = {1, 1};
    return MakeError(ErrorCode::kInvalidInput,
                     fmt::format("{}:{}:{}: {}", path_, pos.line, pos.column, message));
  }

  Result<ConfigFile> Read(const YAML::Node& root) const;

 private:
  /// Counts one more node read; fails once kMaxNodesRead are.
  Status Count(SourcePos pos) const;
  Result<std::vector<Entry>> Entries(const YAML::Node& map, SourcePos pos, std::string_view what,
                                     std::string_view noun, int depth = 0) const;
  Status Merge(const YAML::Node& merged, SourcePos pos, std::string_view what, int depth,
               std::set<std::string>* taken, std::vector<Entry>* out) const;
  Result<NamedConfig> Label(const Entry& entry) const;
  Result<MigConfigSpec> Spec(const YAML::Node& node, SourcePos fallback) const;
  Status DeviceFilters(const Entry& entry, MigConfigSpec* spec) const;
  Status Devices(const Entry& entry, MigConfigSpec* spec) const;
  Result<DeviceRef> Device(const YAML::Node& node, SourcePos fallback) const;
  Result<bool> Bool(const Entry& entry) const;
  Status MigDevices(const Entry& entry, MigConfigSpec* spec) const;
  Status MigInstances(const Entry& entry, MigConfigSpec* spec) const;
  Result<InstanceSpec> Instance(const YAML::Node& node, SourcePos fallback) const;
  Result<CiSpec> ComputeInstance(const YAML::Node& node, SourcePos fallback, const ProfileName& gi) const;
  Result<ProfileName> Profile(const YAML::Node& node, SourcePos pos) const;
  Result<ProfileName> Profile(const std::string& text, SourcePos pos) const;
  Result<unsigned> Unsigned(const YAML::Node& node, SourcePos pos, std::string_view what, unsigned max) const;

  std::string path_;
  mutable size_t nodes_read_ = 0;
};

Status ConfigReader::Count(SourcePos pos) const {
  if (++nodes_read_ <= kMaxNodesRead) return Ok();
  return Fail(pos,
              fmt::format("the config expands to more than {} entries through YAML aliases; write it with "
                          "fewer aliases",
                          kMaxNodesRead));
}

Result<std::vector<Entry>> ConfigReader::Entries(const YAML::Node& map, SourcePos pos, std::string_view what,
                                                 std::string_view noun, int depth) const {
  if (!map.IsMap()) return Fail(pos, fmt::format("{} must be a map, not {}", what, KindOf(map)));
  std::vector<Entry> entries;
  std::map<std::string, SourcePos> explicit_keys;
  std::vector<std::pair<YAML::Node, SourcePos>> merges;
  for (const auto& pair : map) {
    SourcePos key_pos = PosOf(pair.first, pos);
    MIGCTL_RETURN_IF_ERROR(Count(key_pos));
    if (!pair.first.IsScalar())
      return Fail(key_pos, fmt::format("a key in {} is {}; keys are plain names such as 'devices'", what,
                                       KindOf(pair.first)));
    const std::string& key = pair.first.Scalar();
    if (key == "<<" && pair.first.Tag() == "?") {
      merges.emplace_back(pair.second, PosOf(pair.second, key_pos));
      continue;
    }
    auto [first, inserted] = explicit_keys.emplace(key, key_pos);
    if (!inserted)
      return Fail(key_pos, fmt::format("duplicate {} {} in {} (first at line {}, column {}); keep one", noun,
                                       Quote(key), what, first->second.line, first->second.column));
    entries.push_back(Entry{key, key_pos, pair.second});
  }
  // YAML 1.1 merge keys, which mig-parted's YAML reader applies: keys written in the map win, then earlier
  // merged maps win over later ones.
  std::set<std::string> taken;
  for (const auto& [key, key_pos] : explicit_keys) taken.insert(key);
  for (const auto& [merged, merge_pos] : merges) {
    if (depth >= kMaxMergeDepth)
      return Fail(merge_pos,
                  fmt::format("'<<' merges are nested more than {} deep; flatten them", kMaxMergeDepth));
    if (merged.IsSequence()) {
      for (const YAML::Node& element : merged)
        MIGCTL_RETURN_IF_ERROR(Merge(element, PosOf(element, merge_pos), what, depth, &taken, &entries));
    } else {
      MIGCTL_RETURN_IF_ERROR(Merge(merged, merge_pos, what, depth, &taken, &entries));
    }
  }
  return entries;
}

Status ConfigReader::Merge(const YAML::Node& merged, SourcePos pos, std::string_view what, int depth,
                           std::set<std::string>* taken, std::vector<Entry>* out) const {
  if (!merged.IsMap())
    return Fail(pos,
                fmt::format("'<<' in {} merges {}; it takes a map (an alias such as *defaults) or a list "
                            "of maps",
                            what, KindOf(merged)));
  MIGCTL_ASSIGN_OR_RETURN(std::vector<Entry> entries, Entries(merged, pos, what, "key", depth + 1));
  for (Entry& entry : entries)
    if (taken->insert(entry.key).second) out->push_back(std::move(entry));
  return Ok();
}

Result<ConfigFile> ConfigReader::Read(const YAML::Node& root) const {
  if (root.IsNull())
    return Fail({1, 1},
                "no mig-configs: the file is empty; write 'version: v1' and a 'mig-configs' map from "
                "labels to lists of specs");
  SourcePos root_pos = PosOf(root, {1, 1});
  if (!root.IsMap())
    return Fail(root_pos, fmt::format("the top level is {}; it must be a map with 'version: v1' and "
                                      "'mig-configs'",
                                      KindOf(root)));
  MIGCTL_ASSIGN_OR_RETURN(std::vector<Entry> entries, Entries(root, root_pos, "the top level", "key"));
  const Entry* version = nullptr;
  const Entry* configs = nullptr;
  for (const Entry& entry : entries) {
    if (entry.key == "version") {
      version = &entry;
    } else if (entry.key == "mig-configs") {
      configs = &entry;
    } else {
      return Fail(entry.key_pos, fmt::format("unexpected field: {}; the top level has only 'version' and "
                                             "'mig-configs'",
                                             Quote(entry.key)));
    }
  }
  if (version == nullptr)
    return Fail(root_pos,
                "unable to parse with missing 'version' field; add 'version: v1' as the first line");
  if (!version->value.IsScalar() || version->value.Scalar() != "v1")
    return Fail(
        version->value_pos(),
        fmt::format("unknown version: {}; migctl reads mig-parted's 'version: v1'",
                    version->value.IsScalar() ? Quote(version->value.Scalar()) : KindOf(version->value)));
  const std::string_view need_configs =
      "at least one entry in 'mig-configs' is required; add a label with its list of specs, e.g. "
      "'all-disabled: [{devices: all, mig-enabled: false}]'";
  if (configs == nullptr) return Fail(root_pos, need_configs);
  if (configs->value.IsNull() || (configs->value.IsMap() && configs->value.size() == 0))
    return Fail(configs->value_pos(), need_configs);
  MIGCTL_ASSIGN_OR_RETURN(std::vector<Entry> labels,
                          Entries(configs->value, configs->value_pos(), "'mig-configs'", "label"));
  ConfigFile file;
  file.path = path_;
  for (const Entry& entry : labels) {
    MIGCTL_ASSIGN_OR_RETURN(NamedConfig config, Label(entry));
    file.configs.push_back(std::move(config));
  }
  if (file.configs.empty()) return Fail(configs->value_pos(), need_configs);
  return file;
}

Result<NamedConfig> ConfigReader::Label(const Entry& entry) const {
  if (entry.key.empty()) return Fail(entry.key_pos, "a label is empty; name it, e.g. all-1g.10gb");
  // A label is typed after -c and set as a Kubernetes node label value; a control character helps neither.
  if (std::any_of(entry.key.begin(), entry.key.end(), [](unsigned char c) { return c < 0x20; }))
    return Fail(entry.key_pos, fmt::format("label {} has a control character; name it with letters, digits, "
                                           "'-', '_' and '.'",
                                           Quote(entry.key)));
  const YAML::Node& list = entry.value;
  if (list.IsNull() || (list.IsSequence() && list.size() == 0))
    return Fail(entry.value_pos(),
                fmt::format("at least one entry in {} is required; add a spec such as '- devices: all' with "
                            "'mig-enabled: false'",
                            Quote(entry.key)));
  if (!list.IsSequence())
    return Fail(entry.value_pos(),
                fmt::format("{} is {}; it must be a list of specs, each starting with '- '", Quote(entry.key),
                            KindOf(list)));
  NamedConfig config{entry.key, {}, entry.key_pos};
  for (const YAML::Node& node : list) {
    MIGCTL_RETURN_IF_ERROR(Count(PosOf(node, entry.value_pos())));
    MIGCTL_ASSIGN_OR_RETURN(MigConfigSpec spec, Spec(node, entry.value_pos()));
    config.specs.push_back(std::move(spec));
  }
  return config;
}

Result<MigConfigSpec> ConfigReader::Spec(const YAML::Node& node, SourcePos fallback) const {
  MigConfigSpec spec;
  spec.pos = PosOf(node, fallback);
  if (!node.IsMap())
    return Fail(spec.pos,
                fmt::format("a spec is {}; it must be a map with 'devices' and 'mig-enabled'", KindOf(node)));
  MIGCTL_ASSIGN_OR_RETURN(std::vector<Entry> entries, Entries(node, spec.pos, "a spec", "key"));
  const Entry* mig_devices = nullptr;
  const Entry* mig_instances = nullptr;
  bool has_devices = false;
  bool has_enabled = false;
  for (const Entry& entry : entries) {
    if (entry.key == "device-filter") {
      MIGCTL_RETURN_IF_ERROR(DeviceFilters(entry, &spec));
    } else if (entry.key == "devices") {
      MIGCTL_RETURN_IF_ERROR(Devices(entry, &spec));
      has_devices = true;
    } else if (entry.key == "mig-enabled") {
      MIGCTL_ASSIGN_OR_RETURN(spec.mig_enabled, Bool(entry));
      has_enabled = true;
    } else if (entry.key == "mig-devices" || entry.key == "mig-instances") {
      if (mig_devices != nullptr || mig_instances != nullptr)
        return Fail(entry.key_pos,
                    "'mig-devices' and 'mig-instances' are both given; use one of them "
                    "('mig-instances' places instances explicitly)");
      (entry.key == "mig-devices" ? mig_devices : mig_instances) = &entry;
    } else {
      return Fail(entry.key_pos, fmt::format("unexpected field: {}; a spec has device-filter, devices, "
                                             "mig-enabled and mig-devices (or migctl's mig-instances)",
                                             Quote(entry.key)));
    }
  }
  if (!has_devices)
    return Fail(spec.pos,
                "missing required field: devices; add 'devices: all' or a list of GPU indexes "
                "such as [0, 1]");
  if (!has_enabled)
    return Fail(spec.pos,
                "missing required field: mig-enabled; add 'mig-enabled: true' or 'mig-enabled: "
                "false'");
  if (mig_devices != nullptr) MIGCTL_RETURN_IF_ERROR(MigDevices(*mig_devices, &spec));
  if (mig_instances != nullptr) MIGCTL_RETURN_IF_ERROR(MigInstances(*mig_instances, &spec));
  if (spec.mig_enabled && mig_devices == nullptr && mig_instances == nullptr)
    return Fail(spec.pos,
                "missing required field 'mig-devices' when 'mig-enabled' is true; add 'mig-devices: "
                "{}' for MIG with no instances, or profile counts such as '1g.10gb: 7'");
  if (!spec.mig_enabled && !spec.mig_devices.empty())
    return Fail(mig_devices->key_pos,
                "MIG devices included when 'mig-enabled' is false; remove "
                "'mig-devices' or set 'mig-enabled: true'");
  if (!spec.mig_enabled && !spec.mig_instances.empty())
    return Fail(mig_instances->key_pos,
                "MIG instances included when 'mig-enabled' is false; remove "
                "'mig-instances' or set 'mig-enabled: true'");
  return spec;
}

Status ConfigReader::DeviceFilters(const Entry& entry, MigConfigSpec* spec) const {
  // mig-parted takes a string or a list of strings, and an empty value as no filter.
  std::vector<std::pair<YAML::Node, SourcePos>> items;
  if (entry.value.IsScalar()) {
    items.emplace_back(entry.value, entry.value_pos());
  } else if (entry.value.IsSequence()) {
    for (const YAML::Node& item : entry.value) {
      items.emplace_back(item, PosOf(item, entry.value_pos()));
      MIGCTL_RETURN_IF_ERROR(Count(items.back().second));
    }
  } else if (!entry.value.IsNull()) {
    return Fail(entry.value_pos(),
                "'device-filter' is a map; write a PCI id such as \"0x20B010DE\" or a list "
                "of them");
  }
  for (const auto& [item, pos] : items) {
    if (!item.IsScalar())
      return Fail(pos, fmt::format("a 'device-filter' entry is {}; write a PCI id such as \"0x20B010DE\"",
                                   KindOf(item)));
    Result<DeviceFilter> filter = ParseDeviceFilter(item.Scalar());
    if (!filter.ok()) return Fail(pos, filter.error().message);
    filter->pos = pos;
    spec->device_filters.push_back(std::move(*filter));
  }
  return Ok();
}

Status ConfigReader::Devices(const Entry& entry, MigConfigSpec* spec) const {
  const YAML::Node& value = entry.value;
  const std::string_view fix = "write 'all' or a list of GPU indexes such as [0, 1]";
  if (value.IsNull()) return Fail(entry.key_pos, fmt::format("'devices' is empty; {}", fix));
  if (value.IsScalar()) {
    if (value.Scalar() != "all")
      return Fail(entry.value_pos(),
                  fmt::format("invalid string input for 'devices': {}; {}", Quote(value.Scalar()), fix));
    spec->all_devices = true;
    return Ok();
  }
  if (!value.IsSequence())
    return Fail(entry.value_pos(), fmt::format("'devices' is {}; {}", KindOf(value), fix));
  // Duplicates are found by what they name: an index, a lower-case UUID, a normalized PCI bus id.
  std::map<std::string, SourcePos> seen;
  for (const YAML::Node& node : value) {
    MIGCTL_RETURN_IF_ERROR(Count(PosOf(node, entry.value_pos())));
    MIGCTL_ASSIGN_OR_RETURN(DeviceRef device, Device(node, entry.value_pos()));
    std::string key = device.index ? std::to_string(*device.index) : NormalizePciBusId(device.selector);
    if (key.empty()) {
      key = device.selector;
      std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
    }
    auto [first, inserted] = seen.emplace(key, device.pos);
    if (!inserted)
      return Fail(
          device.pos,
          fmt::format("GPU {} is listed twice in 'devices' (first at line {}, column {}); "
                      "remove one",
                      device.index ? key : Quote(device.selector), first->second.line, first->second.column));
    spec->devices.push_back(std::move(device));
  }
  return Ok();
}

Result<DeviceRef> ConfigReader::Device(const YAML::Node& node, SourcePos fallback) const {
  DeviceRef device;
  device.pos = PosOf(node, fallback);
  const std::string_view fix = "write a GPU index (0), a GPU UUID (GPU-...) or a PCI bus id (0000:3b:00.0)";
  if (!node.IsScalar())
    return Fail(device.pos, fmt::format("an entry of 'devices' is {}; {}", KindOf(node), fix));
  const std::string& text = node.Scalar();
  bool numeric = !text.empty() && text.find_first_not_of("-+0123456789") == std::string::npos;
  if (numeric && IsPlainOr(node, kIntTag)) {
    MIGCTL_ASSIGN_OR_RETURN(device.index, Unsigned(node, device.pos, "GPU index in 'devices'", kMaxGpuIndex));
    return device;
  }
  // A GPU UUID or a prefix of one (GpuSelector's rule: at least 8 characters after `GPU-`).
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  bool uuid = lower.size() >= 12 && lower.starts_with("gpu-") &&
              lower.find_first_not_of("0123456789abcdef-", 4) == std::string::npos;
  if (!uuid && NormalizePciBusId(text).empty()) {
    if (numeric)
      return Fail(device.pos, fmt::format("{} in 'devices' is quoted, so it is a string; write GPU index {} "
                                          "without quotes",
                                          Quote(text), text));
    return Fail(device.pos, fmt::format("{} in 'devices' is not a GPU; {}", Quote(text), fix));
  }
  device.selector = text;
  return device;
}

Result<bool> ConfigReader::Bool(const Entry& entry) const {
  bool value = false;
  if (entry.value.IsNull())
    return Fail(entry.key_pos, fmt::format("{} is empty; write true or false", Quote(entry.key)));
  if (!entry.value.IsScalar() || !YAML::convert<bool>::decode(entry.value, value))
    return Fail(entry.value_pos(),
                fmt::format("{} must be true or false, not {}", Quote(entry.key),
                            entry.value.IsScalar() ? Quote(entry.value.Scalar()) : KindOf(entry.value)));
  if (!IsPlainOr(entry.value, kBoolTag))
    return Fail(entry.value_pos(),
                fmt::format("{} is the quoted string {}; write {} without quotes", Quote(entry.key),
                            Quote(entry.value.Scalar()), value ? "true" : "false"));
  return value;
}

Result<ProfileName> ConfigReader::Profile(const YAML::Node& node, SourcePos pos) const {
  if (!node.IsScalar())
    return Fail(pos, fmt::format("a profile is {}; write a profile name such as 3g.40gb", KindOf(node)));
  return Profile(node.Scalar(), pos);
}

Result<ProfileName> ConfigReader::Profile(const std::string& text, SourcePos pos) const {
  Result<ProfileName> profile = ParseProfileName(text);
  if (!profile.ok()) return Fail(pos, profile.error().message);
  return profile;
}

Status ConfigReader::MigDevices(const Entry& entry, MigConfigSpec* spec) const {
  if (entry.value.IsNull()) return Ok();  // As `{}`: mig-parted reads a null map as an empty one.
  if (!entry.value.IsMap())
    return Fail(entry.value_pos(),
                fmt::format("'mig-devices' is {}; it must be a map of profile: count such as "
                            "{{1g.10gb: 7}}",
                            KindOf(entry.value)));
  MIGCTL_ASSIGN_OR_RETURN(std::vector<Entry> entries,
                          Entries(entry.value, entry.value_pos(), "'mig-devices'", "profile"));
  bool any_nonzero = false;
  std::map<std::string, const ProfileCount*> seen;  // By canonical name: `1c.1g.10gb` is `1g.10gb`.
  spec->mig_devices.reserve(entries.size());
  for (const Entry& item : entries) {
    MIGCTL_ASSIGN_OR_RETURN(ProfileName profile, Profile(item.key, item.key_pos));
    if (auto first = seen.find(profile.Canonical()); first != seen.end())
      return Fail(item.key_pos,
                  fmt::format("profile {} appears twice in 'mig-devices' (first at line {}, column "
                              "{} as {}); give it one count",
                              Quote(item.key), first->second->pos.line, first->second->pos.column,
                              Quote(first->second->profile.text)));
    MIGCTL_ASSIGN_OR_RETURN(
        unsigned count,
        Unsigned(item.value, item.value_pos(), fmt::format("count for {}", Quote(profile.text)), kMaxCount));
    any_nonzero = any_nonzero || count > 0;
    spec->mig_devices.push_back(ProfileCount{std::move(profile), count, item.key_pos});
    seen.emplace(spec->mig_devices.back().profile.Canonical(), &spec->mig_devices.back());
  }
  if (!entries.empty() && !any_nonzero)
    return Fail(entry.value_pos(),
                "all counts for all MigProfiles are 0; give a profile a count of 1 or more, "
                "or write 'mig-devices: {}' for MIG with no instances");
  return Ok();
}

Status ConfigReader::MigInstances(const Entry& entry, MigConfigSpec* spec) const {
  spec->uses_instances = true;
  if (entry.value.IsNull()) return Ok();  // As `[]`, the way an empty `mig-devices` is `{}`.
  if (!entry.value.IsSequence())
    return Fail(entry.value_pos(),
                fmt::format("'mig-instances' is {}; it must be a list of GPU instances such "
                            "as '- profile: 3g.40gb'",
                            KindOf(entry.value)));
  for (const YAML::Node& node : entry.value) {
    MIGCTL_RETURN_IF_ERROR(Count(PosOf(node, entry.value_pos())));
    MIGCTL_ASSIGN_OR_RETURN(InstanceSpec instance, Instance(node, entry.value_pos()));
    spec->mig_instances.push_back(std::move(instance));
  }
  return Ok();
}

Result<InstanceSpec> ConfigReader::Instance(const YAML::Node& node, SourcePos fallback) const {
  InstanceSpec instance;
  instance.pos = PosOf(node, fallback);
  if (!node.IsMap())
    return Fail(instance.pos,
                fmt::format("an entry of 'mig-instances' is {}; write a map such as '{{profile: "
                            "3g.40gb, start: 4}}'",
                            KindOf(node)));
  MIGCTL_ASSIGN_OR_RETURN(std::vector<Entry> entries,
                          Entries(node, instance.pos, "an entry of 'mig-instances'", "key"));
  auto profile =
      std::find_if(entries.begin(), entries.end(), [](const Entry& e) { return e.key == "profile"; });
  if (profile == entries.end())
    return Fail(instance.pos,
                "missing required field: profile; name the GPU instance profile, e.g. 'profile: "
                "3g.40gb'");
  MIGCTL_ASSIGN_OR_RETURN(instance.profile, Profile(profile->value, profile->value_pos()));
  if (instance.profile.has_ci_part)
    return Fail(
        profile->value_pos(),
        fmt::format("{} is a compute instance profile; write the GPU instance profile {} here and the "
                    "compute instance under 'compute-instances'",
                    Quote(instance.profile.text), instance.profile.gi_name));
  for (const Entry& entry : entries) {
    if (entry.key == "profile") continue;
    if (entry.key == "start") {
      MIGCTL_ASSIGN_OR_RETURN(instance.start,
                              Unsigned(entry.value, entry.value_pos(),
                                       fmt::format("start for {}", Quote(instance.profile.text)), kMaxStart));
    } else if (entry.key == "compute-instances") {
      if (entry.value.IsNull())
        return Fail(entry.key_pos,
                    "'compute-instances' is empty; list compute instances, write [] for none, "
                    "or leave the key out for one of the GPU instance's full size");
      if (!entry.value.IsSequence())
        return Fail(entry.value_pos(), fmt::format("'compute-instances' is {}; it must be a list such as "
                                                   "[1c.3g.40gb, 2c.3g.40gb]",
                                                   KindOf(entry.value)));
      instance.compute_instances.emplace();
      for (const YAML::Node& item : entry.value) {
        MIGCTL_RETURN_IF_ERROR(Count(PosOf(item, entry.value_pos())));
        MIGCTL_ASSIGN_OR_RETURN(CiSpec ci, ComputeInstance(item, entry.value_pos(), instance.profile));
        instance.compute_instances->push_back(std::move(ci));
      }
    } else {
      return Fail(entry.key_pos, fmt::format("unexpected field: {}; an entry of 'mig-instances' has profile, "
                                             "start and compute-instances",
                                             Quote(entry.key)));
    }
  }
  return instance;
}

Result<CiSpec> ConfigReader::ComputeInstance(const YAML::Node& node, SourcePos fallback,
                                             const ProfileName& gi) const {
  CiSpec ci;
  ci.pos = PosOf(node, fallback);
  SourcePos profile_pos = ci.pos;
  YAML::Node profile_node = node;
  if (node.IsMap()) {
    MIGCTL_ASSIGN_OR_RETURN(std::vector<Entry> entries, Entries(node, ci.pos, "a compute instance", "key"));
    auto profile =
        std::find_if(entries.begin(), entries.end(), [](const Entry& e) { return e.key == "profile"; });
    if (profile == entries.end())
      return Fail(ci.pos, fmt::format("missing required field: profile; name the compute instance profile, "
                                      "e.g. 'profile: 1c.{}'",
                                      gi.gi_name));
    profile_node = profile->value;
    profile_pos = profile->value_pos();
    for (const Entry& entry : entries) {
      if (entry.key == "start") {
        MIGCTL_ASSIGN_OR_RETURN(
            ci.start, Unsigned(entry.value, entry.value_pos(), "start of a compute instance", kMaxStart));
      } else if (entry.key != "profile") {
        return Fail(
            entry.key_pos,
            fmt::format("unexpected field: {}; a compute instance has profile and start", Quote(entry.key)));
      }
    }
  } else if (!node.IsScalar()) {
    return Fail(ci.pos, fmt::format("a compute instance is {}; write a profile such as 1c.{} or a map "
                                    "'{{profile: 1c.{}, start: 0}}'",
                                    KindOf(node), gi.gi_name, gi.gi_name));
  }
  MIGCTL_ASSIGN_OR_RETURN(ci.profile, Profile(profile_node, profile_pos));
  if (ci.profile.gi_name != gi.gi_name)
    return Fail(profile_pos, fmt::format("compute instance {} belongs to GPU instance {}, not to {}; write "
                                         "<C>c.{} with C from 1 to {}",
                                         Quote(ci.profile.text), ci.profile.gi_name, gi.gi_name, gi.gi_name,
                                         gi.gi_slices));
  return ci;
}

Result<unsigned> ConfigReader::Unsigned(const YAML::Node& node, SourcePos pos, std::string_view what,
                                        unsigned max) const {
  const std::string fix = fmt::format("write a whole number from 0 to {}", max);
  if (node.IsNull()) return Fail(pos, fmt::format("invalid {}: it is empty; {}", what, fix));
  if (!node.IsScalar()) return Fail(pos, fmt::format("invalid {}: it is {}; {}", what, KindOf(node), fix));
  const std::string& text = node.Scalar();
  std::string_view digits = text;
  bool negative = digits.starts_with('-');
  if (negative || digits.starts_with('+')) digits.remove_prefix(1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  bool whole = !digits.empty() && end == digits.data() + digits.size() &&
               (ec == std::errc() || ec == std::errc::result_out_of_range);
  if (!whole)
    return Fail(pos, fmt::format("invalid {}: {} is not a whole number; {}", what, Quote(text), fix));
  if (!IsPlainOr(node, kIntTag))
    return Fail(pos, fmt::format("invalid {}: {} is quoted, so it is a string; write it without quotes", what,
                                 Quote(text)));
  if (negative && (value != 0 || ec != std::errc()))
    return Fail(pos, fmt::format("invalid {}: {} is negative; {}", what, text, fix));
  if (ec != std::errc() || value > max)
    return Fail(pos, fmt::format("invalid {}: {} is too large; {}", what, text, fix));
  if (digits.size() > 1 && digits[0] == '0')
    return Fail(pos,
                fmt::format("invalid {}: {} has a leading zero, which YAML 1.1 (and so mig-parted) reads "
                            "as octal; write it without the zero",
                            what, text));
  return value;
}

/// Sees one YAML document go by: where it starts and where its first node that is not null is.
class DocumentProbe : public YAML::EventHandler {
 public:
  YAML::Mark start = YAML::Mark::null_mark();
  std::optional<YAML::Mark> content;

  void OnDocumentStart(const YAML::Mark& mark) override { start = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { Saw(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t, const std::string&) override {
    Saw(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Saw(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Saw(mark);
  }
  void OnMapEnd() override {}

 private:
  void Saw(const YAML::Mark& mark) {
    if (!content) content = mark;
  }
};

/// Checks the document structure of `text`: one document (later empty ones are allowed), and no token that
/// yaml-cpp 0.7 neither consumes nor rejects. YAML::LoadAll loops forever on such a token (a stray `,` at the
/// top level, found by fuzzing) and YAML::Load ignores it, so each document is walked here with a parser that
/// stops when a document starts where the one before it did. Throws YAML::Exception on a syntax error.
Status CheckDocuments(const ConfigReader& reader, std::string_view text) {
  std::istringstream in{std::string(text)};
  YAML::Parser parser(in);
  YAML::Mark previous = YAML::Mark::null_mark();
  for (int document = 0;; ++document) {
    DocumentProbe probe;
    if (!parser.HandleNextDocument(probe)) return Ok();
    if (document > 0 && probe.start.pos == previous.pos) {
      auto offset = static_cast<size_t>(std::max(probe.start.pos, 0));
      std::string token = offset < text.size() ? Quote(text.substr(offset, 1)) : std::string("end of file");
      return reader.Fail(PosOf(probe.start),
                         fmt::format("not valid YAML: unexpected {}; check the indentation, "
                                     "quotes and brackets here",
                                     token));
    }
    if (document > 0 && probe.content)
      return reader.Fail(PosOf(*probe.content),
                         "a second YAML document starts here; a config is one document: "
                         "remove it or put it in a file of its own");
    previous = probe.start;
  }
}

/// The YAML document of `text` (the null node for an empty one), or an error pointing at the syntax error.
Result<YAML::Node> LoadYaml(const ConfigReader& reader, std::string_view text) {
  try {
    MIGCTL_RETURN_IF_ERROR(CheckDocuments(reader, text));
    return YAML::Load(std::string(text));
  } catch (const YAML::DeepRecursion& e) {
    return reader.Fail(PosOf(e.mark), fmt::format("not valid YAML: lists and maps nest more than {} deep; a "
                                                  "config nests at most 8",
                                                  e.depth()));
  } catch (const YAML::Exception& e) {
    SourcePos pos = PosOf(e.mark);
    if (std::optional<size_t> tab = FindIndentTab(text, pos.line))
      return reader.Fail(
          PosAt(text, *tab),
          "a tab indents this line; YAML indents with spaces only: replace the tab with spaces");
    return reader.Fail(
        pos, fmt::format("not valid YAML: {}; check the indentation, quotes and brackets here", e.msg));
  } catch (const std::exception& e) {
    return reader.Fail({1, 1}, fmt::format("not valid YAML: {}", e.what()));
  }
}

/// Reads all of file descriptor `fd`, up to one byte past the size limit (ParseConfig then rejects it).
Result<std::string> ReadAll(int fd, const std::string& shown) {
  std::string text;
  char buffer[65536];
  while (text.size() <= kMaxFileBytes) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return MakeError(ErrorCode::kIo, fmt::format("cannot read config file {}: {}; check the path", shown,
                                                   std::strerror(errno)));
    text.append(buffer, static_cast<size_t>(n));
  }
  return text;
}

}  // namespace

Result<ConfigFile> ParseConfig(std::string_view text, std::string_view path) {
  ConfigReader reader(path);
  if (text.size() > kMaxFileBytes)
    return reader.Fail({1, 1}, fmt::format("the file is over {} MiB, far more than any config; check that it "
                                           "is the config file",
                                           kMaxFileBytes >> 20));
  if (text.starts_with("\xef\xbb\xbf")) text.remove_prefix(3);  // A UTF-8 byte order mark.
  if (auto bad = FindNonText(text)) return reader.Fail(PosAt(text, bad->first), bad->second);
  MIGCTL_ASSIGN_OR_RETURN(YAML::Node root, LoadYaml(reader, text));
  try {
    return reader.Read(root);
  } catch (const YAML::Exception& e) {
    // yaml-cpp throws only on misuse of a node; reading guards every access, so this is a bug.
    return MakeError(ErrorCode::kInternal, fmt::format("{}: reading the config failed: {}", path, e.what()));
  }
}

Result<ConfigFile> LoadConfig(const std::string& path) {
  if (path == "-") {
    MIGCTL_ASSIGN_OR_RETURN(std::string text, ReadAll(STDIN_FILENO, "<stdin>"));
    return ParseConfig(text, "<stdin>");
  }
  Result<std::string> text = ReadFile(path, kMaxFileBytes);
  if (!text.ok()) return text.error().WithContext("config file: ");
  return ParseConfig(*text, path);
}

Result<const NamedConfig*> SelectConfig(const ConfigFile& file, std::string_view label) {
  constexpr size_t kMaxListed = 20;
  std::string labels;
  for (size_t i = 0; i < file.configs.size() && i < kMaxListed; ++i)
    labels += (i == 0 ? "" : ", ") + file.configs[i].label;
  if (file.configs.size() > kMaxListed) labels += fmt::format(", ... ({} in all)", file.configs.size());
  if (label.empty()) {
    if (file.configs.size() == 1) return &file.configs.front();
    return MakeError(ErrorCode::kInvalidInput,
                     fmt::format("{}: missing required flag 'selected-config' when more than one config "
                                 "available; choose one of: {}",
                                 file.path, labels));
  }
  for (const NamedConfig& config : file.configs)
    if (config.label == label) return &config;
  return MakeError(ErrorCode::kNotFound,
                   fmt::format("{}: selected mig-config not present: {}; the file has: {}", file.path,
                               Quote(label), labels));
}

}  // namespace migctl::spec
