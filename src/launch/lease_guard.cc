#include "launch/lease_guard.h"

#include <fmt/format.h>

#include "nvml/snapshot.h"

namespace migctl {

Status CheckNoLeasedDeviceGoes(const std::vector<GpuOutcome>& plans, const LeaseTable& leases) {
  for (const GpuOutcome& g : plans) {
    const nvml::GpuSnapshot& gpu = g.before.snapshot;
    for (const PlannedOp& op : g.plan.steps.ops) {
      const bool everything = op.kind == PlannedOp::Kind::kResetGpu ||
                              (op.kind == PlannedOp::Kind::kSetMigMode && !op.enable);
      const bool some = op.kind == PlannedOp::Kind::kDestroyGi || op.kind == PlannedOp::Kind::kDestroyCi;
      if (!everything && !some) continue;
      for (const nvml::InstanceSnapshot& i : gpu.instances) {
        if (!i.uuid) continue;
        if (some && (i.gi != op.gi || (op.kind == PlannedOp::Kind::kDestroyCi && i.ci != op.ci))) continue;
        if (std::optional<pid_t> holder = leases.Holder(i.uuid->value()))
          return MakeError(ErrorCode::kBusy,
                           fmt::format("GPU {} GPU instance {}: {} is in use by a migctl run's task (pid {}); "
                                       "wait for it to end or stop that run, then try again",
                                       gpu.index.value(), i.gi.value(), i.uuid->value(), *holder));
      }
    }
  }
  return Ok();
}

Result<std::vector<Lease>> LeaseIdleMigDevices(const std::vector<nvml::Device>& devices, LeaseTable& leases,
                                               std::set<std::string>* leased) {
  std::vector<Lease> held;
  for (const nvml::Device& d : devices) {
    MIGCTL_ASSIGN_OR_RETURN(nvml::GpuSnapshot s, nvml::ObserveGpu(d));
    for (const nvml::InstanceSnapshot& i : s.instances) {
      if (!i.uuid || !i.processes.empty()) continue;
      MIGCTL_ASSIGN_OR_RETURN(std::optional<Lease> lease, leases.TryAcquire(i.uuid->value()));
      if (!lease) continue;
      leased->insert(i.uuid->value());
      held.push_back(std::move(*lease));
    }
  }
  return held;
}

}  // namespace migctl
