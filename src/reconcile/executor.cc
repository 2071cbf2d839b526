#include "reconcile/executor.h"

#include <fmt/format.h>

#include "reconcile/gpu_reset.h"

namespace migctl {
namespace {

/// The plan was feasible on the observed GPU, so a refusal for room means something else changed it since.
Error RaceOrError(const Error& error) {
  if (error.code != ErrorCode::kInfeasible) return error;
  return Error{ErrorCode::kBusy,
               error.message +
                   ": the GPU changed since migctl looked at it (another process creating "
                   "instances?); run the command again",
               error.nvml_return};
}

Result<ExecutedOp> Execute(const nvml::Device& device, const PlannedOp& op) {
  ExecutedOp done{op, op.gi, {}};
  switch (op.kind) {
    case PlannedOp::Kind::kCreateGi: {
      Result<nvml::GpuInstance> gi = device.CreateGpuInstance(op.profile, nvml::Placement{op.start, op.size});
      if (!gi.ok()) return RaceOrError(gi.error());
      done.gi = gi->info().id;
      for (const PlacedCi& c : op.cis) {
        Result<nvml::ComputeInstance> ci =
            gi->CreateComputeInstance(c.profile, nvml::Placement{c.start, c.size});
        if (!ci.ok()) return RaceOrError(ci.error());
        done.cis.push_back(ci->info().id);
      }
      return done;
    }
    case PlannedOp::Kind::kCreateCi: {
      MIGCTL_ASSIGN_OR_RETURN(nvml::GpuInstance gi, device.GpuInstanceById(*op.gi));
      for (const PlacedCi& c : op.cis) {
        Result<nvml::ComputeInstance> ci =
            gi.CreateComputeInstance(c.profile, nvml::Placement{c.start, c.size});
        if (!ci.ok()) return RaceOrError(ci.error());
        done.cis.push_back(ci->info().id);
      }
      return done;
    }
    case PlannedOp::Kind::kDestroyCi: {
      MIGCTL_ASSIGN_OR_RETURN(nvml::GpuInstance gi, device.GpuInstanceById(*op.gi));
      MIGCTL_ASSIGN_OR_RETURN(nvml::ComputeInstance ci, gi.ComputeInstanceById(*op.ci));
      MIGCTL_RETURN_IF_ERROR(ci.Destroy());
      done.cis.push_back(*op.ci);
      return done;
    }
    case PlannedOp::Kind::kDestroyGi: {
      MIGCTL_ASSIGN_OR_RETURN(nvml::GpuInstance gi, device.GpuInstanceById(*op.gi));
      MIGCTL_RETURN_IF_ERROR(gi.Destroy());
      return done;
    }
    case PlannedOp::Kind::kSetMigMode: {
      MIGCTL_ASSIGN_OR_RETURN(nvml::MigModeActivation activation, device.SetMigMode(op.enable));
      if (activation == nvml::MigModeActivation::kPendingInUse)
        return MakeError(
            ErrorCode::kBusy,
            fmt::format("GPU {}: MIG mode change left pending: the GPU is in use; stop its clients and "
                        "run the command again",
                        device.index().value()));
      return done;
    }
    case PlannedOp::Kind::kResetGpu: {
      MIGCTL_RETURN_IF_ERROR(ResetGpu(device));
      MIGCTL_ASSIGN_OR_RETURN(nvml::MigMode mode, device.GetMigMode());
      if (mode.current != op.enable)
        return MakeError(ErrorCode::kNvml,
                         fmt::format("GPU {}: the reset did not turn MIG {}; reboot the host",
                                     device.index().value(), op.enable ? "on" : "off"));
      return done;
    }
  }
  return MakeError(ErrorCode::kInternal, "unknown plan step");
}

}  // namespace

Result<std::vector<ExecutedOp>> ExecutePlan(const nvml::Device& device, const InstancePlan& plan) {
  std::vector<ExecutedOp> done;
  for (const PlannedOp& op : plan.ops) {
    MIGCTL_ASSIGN_OR_RETURN(ExecutedOp step, Execute(device, op));
    done.push_back(std::move(step));
  }
  return done;
}

}  // namespace migctl
