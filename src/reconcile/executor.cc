#include "reconcile/executor.h"

#include <fmt/format.h>

namespace migctl {
namespace {

struct Created {
  nvml::GpuInstance gi;
  std::optional<nvml::ComputeInstance> ci;
};

/// Destroys what this run created, newest first. Returns "" or a note on what could not be undone.
std::string RollBack(std::vector<Created>& created) {
  std::string failures;
  for (auto it = created.rbegin(); it != created.rend(); ++it) {
    if (it->ci) {
      if (Status s = it->ci->Destroy(); !s.ok()) failures += " " + s.error().message + ";";
    }
    if (Status s = it->gi.Destroy(); !s.ok()) failures += " " + s.error().message + ";";
  }
  return failures.empty() ? "" : " (clean-up failed:" + failures + " see 'migctl status')";
}

}  // namespace

Result<std::vector<ExecutedOp>> ExecutePlan(const nvml::Device& device, const InstancePlan& plan) {
  std::vector<ExecutedOp> done;
  std::vector<Created> created;
  auto fail = [&](const Error& error) -> Error {
    std::string note = RollBack(created);
    std::string undone = created.empty() ? ""
                                         : fmt::format("; the {} instance{} created before were removed",
                                                       created.size(), created.size() == 1 ? "" : "s");
    return Error{error.code, error.message + undone + note, error.nvml_return};
  };
  for (const PlannedOp& op : plan.ops) {
    switch (op.kind) {
      case PlannedOp::Kind::kCreateGi: {
        Result<nvml::GpuInstance> gi =
            device.CreateGpuInstance(op.profile, nvml::Placement{op.start, op.size});
        if (!gi.ok() && gi.error().code == ErrorCode::kInfeasible) {
          // The plan was feasible on the observed GPU, so something else changed it since: a retryable
          // conflict.
          return fail(Error{ErrorCode::kBusy,
                            gi.error().message +
                                ": the GPU changed since migctl looked at it (another process "
                                "creating instances?); run the command again",
                            gi.error().nvml_return});
        }
        if (!gi.ok()) return fail(gi.error());
        created.push_back({*gi, std::nullopt});
        ExecutedOp record{op, gi->info().id, std::nullopt};
        if (op.with_default_ci) {
          Result<nvml::ComputeInstance> ci = gi->CreateDefaultComputeInstance();
          if (!ci.ok()) return fail(ci.error());
          created.back().ci = *ci;
          record.ci = ci->info().id;
        }
        done.push_back(record);
        break;
      }
      case PlannedOp::Kind::kDestroyCi: {
        MIGCTL_ASSIGN_OR_RETURN(nvml::GpuInstance gi, device.GpuInstanceById(*op.gi));
        MIGCTL_ASSIGN_OR_RETURN(nvml::ComputeInstance ci, gi.ComputeInstanceById(*op.ci));
        MIGCTL_RETURN_IF_ERROR(ci.Destroy());
        done.push_back({op, op.gi, op.ci});
        break;
      }
      case PlannedOp::Kind::kDestroyGi: {
        MIGCTL_ASSIGN_OR_RETURN(nvml::GpuInstance gi, device.GpuInstanceById(*op.gi));
        MIGCTL_RETURN_IF_ERROR(gi.Destroy());
        done.push_back({op, op.gi, std::nullopt});
        break;
      }
    }
  }
  return done;
}

}  // namespace migctl
