#include "reconcile/transaction.h"

#include <fmt/format.h>

namespace migctl {
namespace {

/// Plans `device` back to `entry` and runs it. Returns how many steps that took.
Result<std::size_t> RollBack(const nvml::Device& device, const JournalEntry& entry, bool reset_supported) {
  MIGCTL_ASSIGN_OR_RETURN(ObservedGpu now, ObserveForPlanning(device));
  GpuGoal goal = entry.before.Goal(device.index(), "the journalled state");
  MIGCTL_ASSIGN_OR_RETURN(GpuPlan back, PlanGpu(now, goal, {.reset_supported = reset_supported}));
  MIGCTL_RETURN_IF_ERROR(ExecutePlan(device, back.steps));
  return back.steps.ops.size();
}

}  // namespace

Result<GpuChange> ChangeGpuAtomically(const nvml::Device& device, const ObservedGpu& before,
                                      const GpuPlan& plan, Journal& journal, const std::string& command,
                                      bool reset_supported) {
  const GpuUuid& uuid = before.snapshot.uuid;
  MIGCTL_ASSIGN_OR_RETURN(std::optional<JournalEntry> earlier, journal.Find(uuid));
  MIGCTL_ASSIGN_OR_RETURN(JournalEntry entry, journal.Begin(CheckpointOf(before), command));
  Result<std::vector<ExecutedOp>> done = ExecutePlan(device, plan.steps);
  if (done.ok()) {
    MIGCTL_RETURN_IF_ERROR(journal.End(uuid));
    return GpuChange{std::move(*done), earlier.has_value()};
  }
  Error error = done.error();
  Result<std::size_t> undone = RollBack(device, entry, reset_supported);
  if (!undone.ok())
    return Error{
        error.code,
        fmt::format("{}; putting GPU {} back failed too ({}): its state before is saved in {}: run "
                    "'migctl restore {}'",
                    error.message, device.index().value(), undone.error().message, entry.path, entry.path),
        error.nvml_return};
  MIGCTL_RETURN_IF_ERROR(journal.End(uuid));
  return Error{error.code,
               fmt::format("{}; GPU {} was put back as it was ({} step{})", error.message,
                           device.index().value(), *undone, *undone == 1 ? "" : "s"),
               error.nvml_return};
}

}  // namespace migctl
