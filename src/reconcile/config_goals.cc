#include "reconcile/config_goals.h"

#include <algorithm>

#include <fmt/format.h>

#include "reconcile/observed_gpu.h"
#include "spec/targets.h"

namespace migctl {

Result<ConfigGoals> GoalsFromConfig(const std::vector<nvml::Device>& devices, const spec::ConfigFile& file,
                                    const spec::NamedConfig& config, const spec::MatchOptions& options) {
  std::vector<spec::HostGpu> host;
  for (const nvml::Device& d : devices) {
    MIGCTL_ASSIGN_OR_RETURN(GpuUuid uuid, d.Uuid());
    MIGCTL_ASSIGN_OR_RETURN(nvml::PciInfo pci, d.Pci());
    Result<nvml::MigMode> mig = d.GetMigMode();
    if (!mig.ok() && mig.error().code != ErrorCode::kUnsupported) return mig.error();
    spec::HostGpu gpu{.index = d.index(),
                      .uuid = uuid,
                      .pci_bus_id = pci.bus_id,
                      .device_id = static_cast<std::uint16_t>(pci.device_id),
                      .vendor_id = static_cast<std::uint16_t>(pci.vendor_id),
                      .mig_capable = mig.ok()};
    if (pci.subsystem_device_id != 0 || pci.subsystem_vendor_id != 0) {
      gpu.subsystem_device_id = static_cast<std::uint16_t>(pci.subsystem_device_id);
      gpu.subsystem_vendor_id = static_cast<std::uint16_t>(pci.subsystem_vendor_id);
    }
    host.push_back(std::move(gpu));
  }
  MIGCTL_ASSIGN_OR_RETURN(spec::DeviceAssignment assignment,
                          spec::AssignDevices(file, config, host, options));
  ConfigGoals out;
  out.unselected = std::move(assignment.unselected);
  auto warn = [&out](const std::string& w) {
    if (std::find(out.warnings.begin(), out.warnings.end(), w) == out.warnings.end())
      out.warnings.push_back(w);
  };
  for (const std::string& w : assignment.warnings) warn(w);
  for (const spec::GpuAssignment& a : assignment.gpus) {
    const nvml::Device& device = devices[a.gpu.value()];
    const spec::MigConfigSpec& s = *a.spec;
    const std::string origin =
        fmt::format("{}:{}:{} ({})", file.path, s.pos.line, s.pos.column, config.label);
    GpuGoal goal{a.gpu, s.mig_enabled, {}, origin};
    if (s.mig_enabled) {
      MIGCTL_ASSIGN_OR_RETURN(GpuModel model, ModelOf(device));
      MIGCTL_ASSIGN_OR_RETURN(spec::SpecTarget target, spec::TargetInstances(file, s, model, a.gpu));
      goal.instances = std::move(target.instances);
      for (const std::string& w : target.warnings) warn(w);
    }
    out.gpus.push_back({device, std::move(goal)});
  }
  return out;
}

}  // namespace migctl
