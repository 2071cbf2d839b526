#include "reconcile/transaction.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

namespace migctl {
namespace {

/// A GI as the comparison sees it: profile, placement and its CIs (profile, start), ids left out.
struct GiShape {
  unsigned profile = 0;
  unsigned start = 0;
  std::vector<std::pair<unsigned, unsigned>> cis;
  auto operator<=>(const GiShape&) const = default;
};

std::vector<GiShape> Shapes(const std::map<unsigned, GiShape>& by_id, std::vector<GiShape> extra) {
  for (const auto& [id, gi] : by_id) extra.push_back(gi);
  for (GiShape& g : extra) std::sort(g.cis.begin(), g.cis.end());
  std::sort(extra.begin(), extra.end());
  return extra;
}

std::vector<GiShape> ShapesOf(const nvml::GpuSnapshot& s) {
  std::map<unsigned, GiShape> by_id;
  if (s.mig && s.mig->current)
    for (const CurrentGi& g : CurrentInstances(s)) {
      GiShape& shape = by_id[g.id.value()];
      shape = {g.profile.value(), g.start, {}};
      for (const CurrentCi& c : g.cis) shape.cis.emplace_back(c.profile.value(), c.start);
    }
  return Shapes(by_id, {});
}

std::string Describe(const ObservedGpu& gpu, const std::vector<GiShape>& shapes) {
  if (shapes.empty()) return "no instances";
  std::string out;
  for (const GiShape& g : shapes) {
    const GiProfile* p = gpu.geometry.FindProfile(ProfileId(g.profile));
    out += fmt::format("{}{}@{}", out.empty() ? "" : " + ",
                       p ? p->name : fmt::format("profile {}", g.profile), g.start);
  }
  return out;
}

/// Plans `device` back to `before` and runs it. Returns how many steps that took.
Result<std::size_t> RollBack(const nvml::Device& device, const GpuCheckpoint& before, bool reset_supported) {
  MIGCTL_ASSIGN_OR_RETURN(ObservedGpu now, ObserveForPlanning(device));
  GpuGoal goal = before.Goal(device.index(), "the state before this command");
  MIGCTL_ASSIGN_OR_RETURN(GpuPlan back,
                          PlanGpu(now, goal, {.force = true, .reset_supported = reset_supported}));
  MIGCTL_RETURN_IF_ERROR(ExecutePlan(device, back.steps));
  return back.steps.ops.size();
}

}  // namespace

std::string DescribeMismatch(const ObservedGpu& before, const GpuPlan& plan, const nvml::GpuSnapshot& after) {
  const nvml::GpuSnapshot& s = before.snapshot;
  bool mig_on = s.mig && s.mig->current;
  std::optional<bool> pending;
  bool reset = false;
  std::map<unsigned, GiShape> by_id;
  if (mig_on)
    for (const CurrentGi& g : CurrentInstances(s)) {
      GiShape& shape = by_id[g.id.value()];
      shape = {g.profile.value(), g.start, {}};
      for (const CurrentCi& c : g.cis) shape.cis.emplace_back(c.profile.value(), c.start);
    }
  std::map<std::pair<unsigned, unsigned>, std::pair<unsigned, unsigned>> ci_of;  // (gi, ci) -> shape
  if (mig_on)
    for (const CurrentGi& g : CurrentInstances(s))
      for (const CurrentCi& c : g.cis) ci_of[{g.id.value(), c.id.value()}] = {c.profile.value(), c.start};
  std::vector<GiShape> created;
  for (const PlannedOp& op : plan.steps.ops) {
    switch (op.kind) {
      case PlannedOp::Kind::kDestroyCi: {
        auto& cis = by_id[op.gi->value()].cis;
        auto it = std::find(cis.begin(), cis.end(), ci_of[{op.gi->value(), op.ci->value()}]);
        if (it != cis.end()) cis.erase(it);
        break;
      }
      case PlannedOp::Kind::kDestroyGi:
        by_id.erase(op.gi->value());
        break;
      case PlannedOp::Kind::kCreateGi: {
        GiShape g{op.profile.value(), op.start, {}};
        for (const PlacedCi& c : op.cis) g.cis.emplace_back(c.profile.value(), c.start);
        created.push_back(std::move(g));
        break;
      }
      case PlannedOp::Kind::kCreateCi:
        for (const PlacedCi& c : op.cis) by_id[op.gi->value()].cis.emplace_back(c.profile.value(), c.start);
        break;
      case PlannedOp::Kind::kSetMigMode:
        pending = op.enable;
        break;
      case PlannedOp::Kind::kResetGpu:
        reset = true;
        mig_on = op.enable;
        if (!op.enable) by_id.clear();
        break;
    }
  }
  // A mode step without a reset takes effect now (Hopper and later) or at the next reset (Ampere): only the
  // pending mode is certain. A reset makes the current mode certain; with no mode step it must not change.
  if (pending && (!after.mig || after.mig->pending != *pending))
    return fmt::format("MIG mode should be {} but is {}", *pending ? "on" : "off",
                       after.mig && after.mig->pending ? "on" : "off");
  const bool on_after = after.mig && after.mig->current;
  if ((!pending || reset) && on_after != mig_on)
    return fmt::format("MIG should be {} but is {}", mig_on ? "on" : "off", on_after ? "on" : "off");
  if (!on_after) return "";
  const std::vector<GiShape> expected = Shapes(by_id, created);
  const std::vector<GiShape> found = ShapesOf(after);
  if (expected == found) return "";
  return fmt::format("expected {}, found {}", Describe(before, expected), Describe(before, found));
}

Result<GpuChange> ChangeGpuAtomically(const nvml::Device& device, const ObservedGpu& before,
                                      const GpuPlan& plan, Journal& journal, const std::string& command,
                                      bool reset_supported) {
  const GpuUuid& uuid = before.snapshot.uuid;
  const unsigned index = device.index().value();
  MIGCTL_ASSIGN_OR_RETURN(JournalEntry entry, journal.Begin(CheckpointOf(before), command));
  Result<std::vector<ExecutedOp>> done = ExecutePlan(device, plan.steps);
  std::optional<Error> error;
  nvml::GpuSnapshot after;
  if (!done.ok()) {
    error = done.error();
  } else if (Result<nvml::GpuSnapshot> seen = nvml::ObserveGpu(device); !seen.ok()) {
    error = seen.error();
  } else if (std::string mismatch = DescribeMismatch(before, plan, *seen); !mismatch.empty()) {
    error = MakeError(ErrorCode::kBusy,
                      fmt::format("GPU {} changed while migctl worked on it ({}): something other than "
                                  "migctl changes it; stop that and run the command again",
                                  index, mismatch));
  } else {
    after = std::move(*seen);
  }
  if (!error) {
    MIGCTL_RETURN_IF_ERROR(journal.End(uuid));
    return GpuChange{std::move(*done), std::move(after)};
  }
  Result<std::size_t> undone = RollBack(device, entry.before, reset_supported);
  if (!undone.ok())
    return Error{error->code,
                 fmt::format("{}; putting GPU {} back failed too ({}): its state before is saved in {}: run "
                             "'migctl restore {}'",
                             error->message, index, undone.error().message, entry.path, entry.path),
                 error->nvml_return};
  MIGCTL_RETURN_IF_ERROR(journal.End(uuid));
  return Error{error->code,
               fmt::format("{}; GPU {} was put back as this command found it ({} step{})", error->message,
                           index, *undone, *undone == 1 ? "" : "s"),
               error->nvml_return};
}

}  // namespace migctl
