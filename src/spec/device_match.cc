#include "spec/device_match.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

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

/// The GPU that one `devices` entry names.
Result<const HostGpu*> Resolve(const Locator& locator, const DeviceRef& ref,
                               const std::vector<HostGpu>& gpus) {
  if (ref.index) {
    auto it = std::find_if(gpus.begin(), gpus.end(),
                           [&](const HostGpu& gpu) { return gpu.index.value() == *ref.index; });
    if (it != gpus.end()) return &*it;
    std::string range = gpus.empty() ? "no GPUs"
                                     : fmt::format("{} GPU{} (indexes 0 to {})", gpus.size(),
                                                   gpus.size() == 1 ? "" : "s", gpus.size() - 1);
    return locator.Fail(ref.pos,
                        fmt::format("GPU {} does not exist: this host has {}; remove it from 'devices' "
                                    "(see 'migctl status')",
                                    *ref.index, range));
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

/// The GPUs `spec` selects, in the order written; skipped GPUs become warnings.
Result<std::vector<Selected>> SelectGpus(const Locator& locator, const MigConfigSpec& spec,
                                         const std::vector<HostGpu>& gpus,
                                         std::vector<std::string>* warnings) {
  std::vector<Selected> selected;
  if (spec.all_devices) {
    for (const HostGpu& gpu : gpus)
      if (PassesFilter(spec, gpu) && gpu.mig_capable) selected.push_back({&gpu, spec.pos});
    return selected;
  }
  for (const DeviceRef& ref : spec.devices) {
    MIGCTL_ASSIGN_OR_RETURN(const HostGpu* gpu, Resolve(locator, ref, gpus));
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

}  // namespace

Result<DeviceAssignment> AssignDevices(const ConfigFile& file, const NamedConfig& config,
                                       const std::vector<HostGpu>& gpus) {
  Locator locator(file);
  DeviceAssignment assignment;
  std::map<unsigned, std::pair<const MigConfigSpec*, SourcePos>> claims;  // By GPU index.
  for (const MigConfigSpec& spec : config.specs) {
    bool filter_matches =
        spec.device_filters.empty() ||
        std::any_of(gpus.begin(), gpus.end(), [&](const HostGpu& g) { return PassesFilter(spec, g); });
    if (!filter_matches) {
      assignment.warnings.push_back(
          locator.At(spec.pos) + fmt::format("no GPU here matches device-filter {} (this host has {}); the "
                                             "spec is skipped",
                                             DescribeFilters(spec), DescribeHost(gpus)));
      continue;
    }
    size_t warnings_before = assignment.warnings.size();
    MIGCTL_ASSIGN_OR_RETURN(std::vector<Selected> selected,
                            SelectGpus(locator, spec, gpus, &assignment.warnings));
    if (selected.empty() && assignment.warnings.size() == warnings_before)
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
  if (claims.empty())
    return locator.Fail(config.pos,
                        fmt::format("layout {} selects no GPU of this host, so nothing would be "
                                    "applied; this host has {}: add a spec for them or choose another "
                                    "layout",
                                    Quote(config.label), DescribeHost(gpus)));
  for (const auto& [index, claim] : claims) assignment.gpus.push_back({GpuIndex(index), claim.first});
  return assignment;
}

}  // namespace migctl::spec
