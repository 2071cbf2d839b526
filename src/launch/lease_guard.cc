#include "launch/lease_guard.h"

#include <fmt/format.h>

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

}  // namespace migctl
