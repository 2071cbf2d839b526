#include "spec/device_match.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "catalog/catalog.h"
#include "common/gpu_selector.h"
#include "spec/quote.h"

namespace migctl::spec {
namespace {

std::string PciId(std::uint16_t device_id, std::uint16_t vendor_id) {
  return fmt::format("0x{:04X}{:04X}", device_id, vendor_id);
}

bool Matches(const DeviceFilter& filter, const HostGpu& gpu) {
  if (filter.device_id != gpu.device_id || filter.vendor_id != gpu.vendor_id) return false;
  return !filter.subsystem_device_id || (gpu.subsystem_device_id == filter.subsystem_device_id &&
                                         gpu.subsystem_vendor_id == filter.subsystem_vendor_id);
}

bool PassesFilter(const MigConfigSpec& spec, const HostGpu& gpu) {
  return spec.device_filters.empty() ||
         std::any_of(spec.device_filters.begin(), spec.device_filters.end(),
                     [&](const DeviceFilter& filter) { return Matches(filter, gpu); });
}

/// `GPU 0: 0x233010DE, GPU 1: 0x20B010DE (not MIG-capable)`, or `no GPUs`.
std::string DescribeHost(const std::vector<HostGpu>& gpus) {
  if (gpus.empty()) return "no GPUs";
  std::string out;
  for (const HostGpu& gpu : gpus) {
    if (!out.empty()) out += ", ";
    out += fmt::format("GPU {}: {}{}", gpu.index.value(), PciId(gpu.device_id, gpu.vendor_id),
                       gpu.mig_capable ? "" : " (not MIG-capable)");
  }
  return out;
}

std::string DescribeFilters(const MigConfigSpec& spec) {
  std::string out;
  for (const DeviceFilter& filter : spec.device_filters) out += (out.empty() ? "" : ", ") + filter.text;
  return out;
}

/// Turns positions into `PATH:LINE:COLUMN: ` prefixes.
class Locator {
 public:
  explicit Locator(const ConfigFile& file) : path_(file.path) {}
  std::string At(SourcePos pos) const { return fmt::format("{}:{}:{}: ", path_, pos.line, pos.column); }
  Error Fail(SourcePos pos, std::string_view message) const {
    return MakeError(ErrorCode::kInvalidInput, At(pos) + std::string(message));
  }

 private:
  std::string path_;
};

/// `4 GPUs (indexes 0 to 3)`, `1 GPU (index 0)`, `no GPUs`.
std::string DescribeIndexes(const std::vector<HostGpu>& gpus) {
  if (gpus.empty()) return "no GPUs";
  if (gpus.size() == 1) return "1 GPU (index 0)";
  return fmt::format("{} GPUs (indexes 0 to {})", gpus.size(), gpus.size() - 1);
}

/// The GPU that one `devices` entry names; nullptr for an index this host does not have.
Result<const HostGpu*> Resolve(const Locator& locator, const DeviceRef& ref,
                               const std::vector<HostGpu>& gpus) {
  if (ref.index) {
    auto it = std::find_if(gpus.begin(), gpus.end(),
                           [&](const HostGpu& gpu) { return gpu.index.value() == *ref.index; });
    return it == gpus.end() ? nullptr : &*it;
  }
  std::vector<GpuIdentity> identities;
  for (const HostGpu& gpu : gpus) identities.push_back({gpu.index, gpu.uuid, gpu.pci_bus_id});
  Result<GpuSelector> selector = GpuSelector::Parse(ref.selector);
  if (!selector.ok()) return locator.Fail(ref.pos, selector.error().message);
  Result<std::vector<GpuIndex>> found = selector->Resolve(identities);
  if (!found.ok()) return locator.Fail(ref.pos, found.error().message);
  if (found->size() != 1)
    return locator.Fail(
        ref.pos, fmt::format("{} names {} GPUs; name one GPU per entry", Quote(ref.selector), found->size()));
  return &*std::find_if(gpus.begin(), gpus.end(),
                        [&](const HostGpu& gpu) { return gpu.index == found->front(); });
}

/// A GPU a spec selects, and where: the `devices` entry, or the spec for `devices: all`.
struct Selected {
  const HostGpu* gpu;
  SourcePos pos;
};

/// What matching skipped, gathered over the whole layout so that each kind is one warning line.
struct Skipped {
  std::vector<const MigConfigSpec*> other_models;  ///< Specs whose device-filter matches no GPU here.
  std::vector<const DeviceRef*> missing;           ///< Listed indexes this host does not have.
};

/// The GPUs `spec` selects, in the order written; listed GPUs its filter excludes become warnings, missing
/// indexes go to `skipped` (an error when strict).
Result<std::vector<Selected>> SelectGpus(const Locator& locator, const MigConfigSpec& spec,
                                         const std::vector<HostGpu>& gpus, const MatchOptions& options,
                                         Skipped* skipped, std::vector<std::string>* warnings) {
  std::vector<Selected> selected;
  if (spec.all_devices) {
    for (const HostGpu& gpu : gpus)
      if (PassesFilter(spec, gpu) && gpu.mig_capable) selected.push_back({&gpu, spec.pos});
    return selected;
  }
  for (const DeviceRef& ref : spec.devices) {
    MIGCTL_ASSIGN_OR_RETURN(const HostGpu* gpu, Resolve(locator, ref, gpus));
    if (gpu == nullptr) {
      if (options.strict)
        return locator.Fail(ref.pos, fmt::format("GPU {} does not exist: this host has {}; remove it from "
                                                 "'devices', or drop --strict to skip it as mig-parted does",
                                                 *ref.index, DescribeIndexes(gpus)));
      skipped->missing.push_back(&ref);
      continue;
    }
    if (!PassesFilter(spec, *gpu)) {
      warnings->push_back(
          locator.At(ref.pos) +
          fmt::format("GPU {} is a {}, which this spec's device-filter ({}) excludes; it is skipped",
                      gpu->index.value(), PciId(gpu->device_id, gpu->vendor_id), DescribeFilters(spec)));
      continue;
    }
    if (!gpu->mig_capable && spec.mig_enabled)
      return locator.Fail(ref.pos,
                          fmt::format("GPU {} ({}) is not MIG-capable, so it cannot have 'mig-enabled: "
                                      "true'; remove it from 'devices'",
                                      gpu->index.value(), PciId(gpu->device_id, gpu->vendor_id)));
    selected.push_back({gpu, ref.pos});
  }
  return selected;
}

/// `GPUs 4, 5, 6, 7 in 'devices' are not on this host, ...`: one line for every missing index.
std::string MissingWarning(const Locator& locator, const std::vector<const DeviceRef*>& missing,
                           const std::vector<HostGpu>& gpus) {
  std::vector<unsigned> indexes;
  for (const DeviceRef* ref : missing) indexes.push_back(*ref->index);
  std::sort(indexes.begin(), indexes.end());
  indexes.erase(std::unique(indexes.begin(), indexes.end()), indexes.end());
  std::string list;
  for (unsigned i : indexes) list += (list.empty() ? "" : ", ") + std::to_string(i);
  return locator.At(missing.front()->pos) +
         fmt::format(
             "GPU{} {} in 'devices' {} not on this host, which has {}; skipped, as mig-parted does "
             "(--strict refuses this)",
             indexes.size() == 1 ? "" : "s", list, indexes.size() == 1 ? "is" : "are", DescribeIndexes(gpus));
}

/// The models `specs` are for, by their filters: catalog keys where migctl knows the PCI id, else the filter
/// as written; at most 4 and `…`.
std::string ModelsOf(const std::vector<const MigConfigSpec*>& specs) {
  std::vector<std::string> names;
  for (const MigConfigSpec* spec : specs) {
    for (const DeviceFilter& filter : spec->device_filters) {
      const GpuModel* model =
          IdentifyModel("", (static_cast<unsigned>(filter.device_id) << 16) | filter.vendor_id);
      std::string name = model != nullptr ? model->key : filter.text;
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
  }
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < 4; ++i) out += (i == 0 ? "" : ", ") + names[i];
  return names.size() > 4 ? out + ", …" : out;
}

}  // namespace

Result<DeviceAssignment> AssignDevices(const ConfigFile& file, const NamedConfig& config,
                                       const std::vector<HostGpu>& gpus, const MatchOptions& options) {
  Locator locator(file);
  DeviceAssignment assignment;
  Skipped skipped;
  std::map<unsigned, std::pair<const MigConfigSpec*, SourcePos>> claims;  // By GPU index.
  for (const MigConfigSpec& spec : config.specs) {
    bool filter_matches =
        spec.device_filters.empty() ||
        std::any_of(gpus.begin(), gpus.end(), [&](const HostGpu& g) { return PassesFilter(spec, g); });
    if (!filter_matches) {
      skipped.other_models.push_back(&spec);
      continue;
    }
    size_t warnings_before = assignment.warnings.size();
    size_t missing_before = skipped.missing.size();
    MIGCTL_ASSIGN_OR_RETURN(std::vector<Selected> selected,
                            SelectGpus(locator, spec, gpus, options, &skipped, &assignment.warnings));
    if (selected.empty() && assignment.warnings.size() == warnings_before &&
        skipped.missing.size() == missing_before)
      assignment.warnings.push_back(
          locator.At(spec.pos) +
          fmt::format("this spec selects no GPU here (this host has {}); it is skipped", DescribeHost(gpus)));
    for (const Selected& s : selected) {
      auto [claim, inserted] = claims.emplace(s.gpu->index.value(), std::pair(&spec, s.pos));
      if (inserted) continue;
      SourcePos first = claim->second.second;
      if (claim->second.first == &spec)
        return locator.Fail(s.pos,
                            fmt::format("GPU {} is listed twice in 'devices' (also at line {}, column {}); "
                                        "remove one",
                                        s.gpu->index.value(), first.line, first.column));
      return locator.Fail(s.pos,
                          fmt::format("GPU {} is selected by this spec and by the one at line {}, column "
                                      "{}, which mig-parted would apply in turn; change 'devices' or "
                                      "'device-filter' so that each GPU has one spec",
                                      s.gpu->index.value(), first.line, first.column));
    }
  }
  for (const HostGpu& gpu : gpus)
    if (gpu.mig_capable && !claims.contains(gpu.index.value())) assignment.unselected.push_back(gpu.index);
  if (!skipped.missing.empty()) assignment.warnings.push_back(MissingWarning(locator, skipped.missing, gpus));
  if (claims.empty()) {
    const std::string why = fmt::format(
        "layout {} selects no GPU of this host, so nothing would be applied; "
        "this host has {}",
        Quote(config.label), DescribeHost(gpus));
    if (options.strict)
      return locator.Fail(config.pos, why + ": add a spec for them, choose another layout, or drop --strict");
    assignment.warnings.push_back(locator.At(config.pos) + why);
    return assignment;
  }
  if (!skipped.other_models.empty() && !assignment.unselected.empty()) {
    const size_t n = skipped.other_models.size();
    assignment.warnings.push_back(locator.At(skipped.other_models.front()->pos) +
                                  fmt::format("{} spec{} of {} {} for models not on this host ({}); skipped",
                                              n, n == 1 ? "" : "s", Quote(config.label),
                                              n == 1 ? "is" : "are", ModelsOf(skipped.other_models)));
  }
  for (const auto& [index, claim] : claims) assignment.gpus.push_back({GpuIndex(index), claim.first});
  return assignment;
}

}  // namespace migctl::spec
