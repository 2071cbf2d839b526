#include "slurm/gres.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "catalog/catalog.h"
#include "common/trim.h"

namespace migctl::slurm {
namespace {

std::optional<unsigned> ParseUnsigned(std::string_view s) {
  unsigned value = 0;
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, value);
  if (s.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

/// Splits `text` into lines, calling `line(number, content)` for each (no newline).
template <typename F>
void ForEachLine(std::string_view text, F&& line) {
  unsigned number = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    ++number;
    line(number, text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

/// Slices and memory of a MIG device's profile: from the GPU's model (keyed by profile ID), else read from
/// NVIDIA's name (`3g.40gb`) when migctl does not know the model.
std::string TypeOf(const GpuModel* model, const nvml::InstanceSnapshot& inst, unsigned long long* memory_mib,
                   unsigned* slices) {
  if (model != nullptr) {
    if (const GiProfile* p = model->FindProfile(inst.profile); p != nullptr) {
      *memory_mib = p->memory_mib;
      *slices = p->compute_slices;
      return MigTypeName(p->compute_slices, p->memory_mib);
    }
  }
  // `3g.40gb+me` -> `3g.40gb`: the part Slurm would render.
  std::string name = inst.profile_name.substr(0, inst.profile_name.find_first_of("+-"));
  unsigned g = 0, gb = 0;
  if (std::sscanf(name.c_str(), "%ug.%ugb", &g, &gb) == 2) {
    *slices = g;
    *memory_mib = static_cast<unsigned long long>(gb) * 1024;
  }
  if (inst.memory && *memory_mib == 0) *memory_mib = inst.memory->total_mib;
  return name;
}

std::string DevPath(std::string_view dev_root, const std::string& rest) {
  std::string root(dev_root);
  while (!root.empty() && root.back() == '/') root.pop_back();
  return root + "/dev/" + rest;
}

Result<unsigned> Minor(const MigMinors& minors, const std::string& name) {
  auto it = minors.find(name);
  if (it == minors.end()) {
    return MakeError(ErrorCode::kNotFound,
                     fmt::format("{} lists no {}: is this the mig-minors file of this host's driver?",
                                 kMigMinorsPath, name));
  }
  return it->second;
}

}  // namespace

Result<MigMinors> ParseMigMinors(std::string_view text) {
  MigMinors minors;
  std::optional<Error> error;
  ForEachLine(text, [&](unsigned number, std::string_view line) {
    if (error) return;
    line = Trim(line);
    if (line.empty()) return;
    const size_t space = line.find_first_of(" \t");
    std::optional<unsigned> minor;
    if (space != std::string_view::npos) minor = ParseUnsigned(Trim(line.substr(space)));
    if (!minor) {
      error = Error{ErrorCode::kCorrupt,
                    fmt::format("mig-minors line {}: expected a capability and a minor number", number)};
      return;
    }
    minors[std::string(line.substr(0, space))] = *minor;
  });
  if (error) return *error;
  return minors;
}

std::string MigTypeName(unsigned slices, unsigned long long memory_mib) {
  return fmt::format("{}g.{}gb", slices, (memory_mib + 512) / 1024);
}

const GiProfile* ProfileOfType(const GpuModel& model, std::string_view type) {
  for (const GiProfile& p : model.gi_profiles)
    if (p.media == MediaKind::kDefault && MigTypeName(p.compute_slices, p.memory_mib) == type) return &p;
  return nullptr;
}

std::string WholeGpuTypeName(std::string_view nvml_name) {
  std::string out;
  for (char c : nvml_name) {
    out += c == ' ' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out;
}

Result<std::vector<GresDevice>> DescribeGres(const nvml::HostSnapshot& host, const MigMinors* minors,
                                             std::string_view dev_root) {
  struct Keyed {
    std::tuple<bool, unsigned, unsigned long long, std::string, unsigned, unsigned, unsigned> key;
    GresDevice device;
  };
  std::vector<Keyed> all;
  bool any_mig = false;
  for (const nvml::GpuSnapshot& gpu : host.gpus) {
    const bool mig_on = gpu.mig && gpu.mig->current;
    std::vector<std::string> parent;
    if (minors != nullptr) {
      if (!gpu.minor) {
        return MakeError(ErrorCode::kNotFound,
                         fmt::format("GPU {}: NVML gives no minor number, so its /dev/nvidiaN is unknown",
                                     gpu.index.value()));
      }
      parent.push_back(DevPath(dev_root, fmt::format("nvidia{}", *gpu.minor)));
    }
    if (!mig_on) {
      GresDevice d{.type = WholeGpuTypeName(gpu.name),
                   .uuid = gpu.uuid.value(),
                   .gpu = gpu.index.value(),
                   .gpu_uuid = gpu.uuid.value(),
                   .memory_mib = gpu.memory.total_mib,
                   .files = parent};
      all.push_back({{true, 0, 0, d.type, d.gpu, 0, 0}, std::move(d)});
      continue;
    }
    const GpuModel* model = IdentifyModel(gpu.name, (gpu.pci_device_id << 16) | 0x10DE);
    for (const nvml::InstanceSnapshot& inst : gpu.instances) {
      if (!inst.ci || !inst.uuid) continue;
      any_mig = true;
      GresDevice d{.uuid = inst.uuid->value(),
                   .gpu = gpu.index.value(),
                   .gpu_uuid = gpu.uuid.value(),
                   .profile = inst.profile_name,
                   .gi = inst.gi.value(),
                   .ci = inst.ci->value(),
                   .start = inst.placement.start};
      unsigned slices = 0;
      d.type = TypeOf(model, inst, &d.memory_mib, &slices);
      if (minors != nullptr) {
        d.files = parent;
        const std::string gi = fmt::format("gpu{}/gi{}", *gpu.minor, *d.gi);
        MIGCTL_ASSIGN_OR_RETURN(unsigned gi_minor, Minor(*minors, gi + "/access"));
        MIGCTL_ASSIGN_OR_RETURN(unsigned ci_minor, Minor(*minors, fmt::format("{}/ci{}/access", gi, *d.ci)));
        d.files.push_back(DevPath(dev_root, fmt::format("nvidia-caps/nvidia-cap{}", gi_minor)));
        d.files.push_back(DevPath(dev_root, fmt::format("nvidia-caps/nvidia-cap{}", ci_minor)));
      }
      const unsigned ci_start = inst.ci_placement ? inst.ci_placement->start : 0;
      all.push_back({{false, slices, d.memory_mib, d.type, d.gpu, *d.start, ci_start * 8 + *d.ci}, std::move(d)});
    }
  }
  if (!any_mig) {
    return MakeError(ErrorCode::kInvalidInput,
                     "this node has no MIG device: enable MIG and create instances first (migctl apply, or "
                     "migctl create), then describe it to Slurm");
  }
  // Devices of one type stay together even when a profile and its `+me` twin differ in memory.
  std::map<std::string, decltype(Keyed::key)> first_of_type;
  for (const Keyed& k : all) {
    auto [it, added] = first_of_type.emplace(k.device.type, k.key);
    if (!added) it->second = std::min(it->second, k.key);
  }
  std::stable_sort(all.begin(), all.end(), [&](const Keyed& a, const Keyed& b) {
    const auto& ta = first_of_type.at(a.device.type);
    const auto& tb = first_of_type.at(b.device.type);
    auto type_a = std::tie(std::get<0>(ta), std::get<1>(ta), std::get<2>(ta), std::get<3>(ta));
    auto type_b = std::tie(std::get<0>(tb), std::get<1>(tb), std::get<2>(tb), std::get<3>(tb));
    if (type_a != type_b) return type_a < type_b;
    return std::tie(std::get<4>(a.key), std::get<5>(a.key), std::get<6>(a.key)) <
           std::tie(std::get<4>(b.key), std::get<5>(b.key), std::get<6>(b.key));
  });
  std::vector<GresDevice> out;
  for (Keyed& k : all) {
    k.device.index = static_cast<unsigned>(out.size());
    out.push_back(std::move(k.device));
  }
  return out;
}

std::string GresConfLines(std::string_view node, const std::vector<GresDevice>& devices) {
  std::string out = fmt::format(
      "# {}: {} GPU{} written by `migctl slurm gres` from the live layout; Slurm's GPU index is the line order\n",
      node, devices.size(), devices.size() == 1 ? "" : "s");
  for (const GresDevice& d : devices) {
    out += fmt::format("NodeName={} Name=gpu Type={}", node, d.type);
    if (d.files.size() == 1) {
      out += " File=" + d.files[0];
    } else if (!d.files.empty()) {
      out += " MultipleFiles=" + fmt::format("{}", fmt::join(d.files, ","));
    }
    out += "\n";
  }
  return out;
}

std::string NodeGresValue(const std::vector<GresDevice>& devices) {
  std::vector<std::pair<std::string, unsigned>> counts;
  for (const GresDevice& d : devices) {
    if (counts.empty() || counts.back().first != d.type) counts.emplace_back(d.type, 0);
    ++counts.back().second;
  }
  std::string out;
  for (const auto& [type, count] : counts) {
    out += fmt::format("{}gpu:{}:{}", out.empty() ? "" : ",", type, count);
  }
  return out;
}

std::string GresMapText(const std::vector<GresDevice>& devices) {
  std::string out = "# migctl slurm map v1: Slurm GPU index, CUDA_VISIBLE_DEVICES, type\n";
  for (const GresDevice& d : devices) out += fmt::format("{} {} {}\n", d.index, d.uuid, d.type);
  return out;
}

Result<std::vector<MapEntry>> ParseGresMap(std::string_view text, std::string_view file) {
  std::vector<MapEntry> entries;
  std::set<unsigned> seen;
  std::optional<Error> error;
  ForEachLine(text, [&](unsigned number, std::string_view line) {
    if (error) return;
    line = Trim(line);
    if (line.empty() || line.front() == '#') return;
    std::vector<std::string_view> words;
    while (!line.empty()) {
      const size_t end = line.find_first_of(" \t");
      words.push_back(line.substr(0, end));
      line = end == std::string_view::npos ? std::string_view() : Trim(line.substr(end));
    }
    std::optional<unsigned> index = words.size() == 3 ? ParseUnsigned(words[0]) : std::nullopt;
    if (!index) {
      error = Error{ErrorCode::kCorrupt,
                    fmt::format("{} line {}: expected INDEX UUID TYPE (as `migctl slurm gres --map` writes)",
                                file, number)};
    } else if (!seen.insert(*index).second) {
      error = Error{ErrorCode::kCorrupt, fmt::format("{} line {}: index {} is listed twice", file, number, *index)};
    } else {
      entries.push_back({*index, std::string(words[1]), std::string(words[2])});
    }
  });
  if (error) return *error;
  std::sort(entries.begin(), entries.end(), [](const MapEntry& a, const MapEntry& b) { return a.index < b.index; });
  return entries;
}

Result<std::vector<unsigned>> ParseIndexList(std::string_view text, std::string_view variable) {
  std::vector<unsigned> out;
  auto bad = [&] {
    return MakeError(ErrorCode::kInvalidInput,
                     fmt::format("{}={}: expected Slurm's GPU indexes (0,3 or 0-2)", variable, text));
  };
  std::string_view rest = Trim(text);
  if (rest.empty()) return bad();
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    const size_t dash = item.find('-');
    std::optional<unsigned> lo = ParseUnsigned(item.substr(0, dash));
    std::optional<unsigned> hi = dash == std::string_view::npos ? lo : ParseUnsigned(item.substr(dash + 1));
    if (!lo || !hi || *hi < *lo || *hi - *lo > 4096) return bad();
    for (unsigned i = *lo; i <= *hi; ++i) out.push_back(i);
    if (comma != std::string_view::npos && rest.empty()) return bad();
  }
  return out;
}

}  // namespace migctl::slurm
