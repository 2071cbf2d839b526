#include "layout/feasibility.h"

#include <algorithm>
#include <bit>
#include <string_view>

#include <fmt/format.h>

namespace migctl {
namespace {

bool ClaimsMedia(MediaKind m) { return m == MediaKind::kMe || m == MediaKind::kAllMe; }

std::string Starts(const GiProfile& p) {
  std::string out;
  for (unsigned s : p.starts) out += (out.empty() ? "" : ",") + std::to_string(s);
  return "{" + out + "}";
}

unsigned UsedCompute(const GpuModel& model, const Layout& layout) {
  unsigned used = 0;
  for (const PlacedInstance& i : layout)
    if (const GiProfile* p = model.FindProfile(i.profile)) used += p->compute_slices;
  return used;
}

unsigned CountOf(const Layout& layout, ProfileId profile) {
  return static_cast<unsigned>(std::count_if(layout.begin(), layout.end(),
                                             [&](const PlacedInstance& i) { return i.profile == profile; }));
}

/// `an a100-80gb`, `a b200-180gb`: the article for a model key read letter by letter.
std::string WithArticle(const std::string& key) {
  const bool vowel_sound =
      !key.empty() && std::string_view("aefhilmnorsx").find(key[0]) != std::string_view::npos;
  return (vowel_sound ? "an " : "a ") + key;
}

}  // namespace

std::string ExplainInstanceLimit(const GpuModel& model, const GiProfile& profile, unsigned existing,
                                 unsigned asked) {
  std::string head = fmt::format("at most {} {} fit{} on {}", profile.instance_limit, profile.name,
                                 profile.instance_limit == 1 ? "s" : "", WithArticle(model.key));
  if (existing == 0) return fmt::format("{}; {} {} asked", head, asked, asked == 1 ? "was" : "were");
  return fmt::format("{}; {} exist{} and {} more {} asked", head, existing, existing == 1 ? "s" : "", asked,
                     asked == 1 ? "was" : "were");
}

Conflict CheckAddition(const GpuModel& model, const Layout& layout, const PlacedInstance& candidate) {
  const GiProfile* profile = model.FindProfile(candidate.profile);
  if (profile == nullptr) return Conflict::kUnknownProfile;
  if (std::find(profile->starts.begin(), profile->starts.end(), candidate.start) == profile->starts.end())
    return Conflict::kBadStart;
  SlotMask wanted = SlotsOf(candidate.start, profile->placement_size);
  SlotMask taken = 0;
  unsigned compute = profile->compute_slices;
  unsigned same = 0;
  bool media_conflict = false;
  for (const PlacedInstance& i : layout) {
    const GiProfile* p = model.FindProfile(i.profile);
    if (p == nullptr) continue;
    taken |= SlotsOf(i.start, p->placement_size);
    compute += p->compute_slices;
    if (p->id == profile->id) ++same;
    if (ClaimsMedia(p->media) && ClaimsMedia(profile->media)) media_conflict = true;
    if (p->media == MediaKind::kAllMe && profile->media != MediaKind::kNoMe) media_conflict = true;
    if (profile->media == MediaKind::kAllMe && p->media != MediaKind::kNoMe) media_conflict = true;
  }
  if (same >= profile->instance_limit) return Conflict::kInstanceLimit;
  if (media_conflict) return Conflict::kMediaExclusive;
  if (compute > model.compute_slices) return Conflict::kComputeExceeded;
  if (wanted & taken) return Conflict::kOverlap;
  return Conflict::kNone;
}

std::string ExplainConflict(const GpuModel& model, const Layout& layout, const PlacedInstance& candidate,
                            Conflict conflict) {
  const GiProfile* profile = model.FindProfile(candidate.profile);
  switch (conflict) {
    case Conflict::kNone:
      return "fits";
    case Conflict::kUnknownProfile:
      return fmt::format("{} has no GPU instance profile with id {} (see 'migctl profiles')", model.key,
                         candidate.profile.value());
    case Conflict::kBadStart:
      return fmt::format("{} cannot start at slot {}: its placements start at {}", profile->name,
                         candidate.start, Starts(*profile));
    case Conflict::kInstanceLimit:
      return ExplainInstanceLimit(model, *profile, 0, CountOf(layout, profile->id) + 1);
    case Conflict::kMediaExclusive:
      return fmt::format("{} needs the media engines, which another +me instance already holds",
                         profile->name);
    case Conflict::kComputeExceeded:
      return fmt::format("{} needs {} compute slice{} but {} of {} are used by {}", profile->name,
                         profile->compute_slices, profile->compute_slices == 1 ? "" : "s",
                         UsedCompute(model, layout), model.compute_slices, DescribeLayout(model, layout));
    case Conflict::kOverlap: {
      SlotMask wanted = SlotsOf(candidate.start, profile->placement_size);
      std::string blockers;
      for (const PlacedInstance& i : layout) {
        const GiProfile* p = model.FindProfile(i.profile);
        if (p && (SlotsOf(i.start, p->placement_size) & wanted))
          blockers += (blockers.empty() ? "" : " and ") + fmt::format("{}@{}", p->name, i.start);
      }
      return fmt::format("{} of {}@{} {} taken by {}",
                         DescribeSlots(candidate.start, profile->placement_size), profile->name,
                         candidate.start, profile->placement_size == 1 ? "is" : "are", blockers);
    }
  }
  return "unknown conflict";
}

Status CheckLayout(const GpuModel& model, const Layout& layout) {
  Layout placed;
  for (const PlacedInstance& candidate : layout) {
    Conflict conflict = CheckAddition(model, placed, candidate);
    if (conflict != Conflict::kNone) {
      ErrorCode code = (conflict == Conflict::kUnknownProfile || conflict == Conflict::kBadStart)
                           ? ErrorCode::kInvalidInput
                           : ErrorCode::kInfeasible;
      if (conflict == Conflict::kInstanceLimit)
        return MakeError(code, ExplainInstanceLimit(model, *model.FindProfile(candidate.profile), 0,
                                                    CountOf(layout, candidate.profile)));
      return MakeError(code, ExplainConflict(model, placed, candidate, conflict));
    }
    placed.push_back(candidate);
  }
  return Ok();
}

namespace {

unsigned MaxMore(const GpuModel& model, Layout& layout, const GiProfile& profile, size_t first_start) {
  unsigned best = 0;
  for (size_t s = first_start; s < profile.starts.size(); ++s) {
    PlacedInstance candidate{profile.id, profile.starts[s]};
    if (CheckAddition(model, layout, candidate) != Conflict::kNone) continue;
    layout.push_back(candidate);
    best = std::max(best, 1 + MaxMore(model, layout, profile, s + 1));
    layout.pop_back();
    if (best == profile.starts.size() - first_start) break;  // cannot do better than every remaining start
  }
  return best;
}

}  // namespace

unsigned RemainingCapacity(const GpuModel& model, const Layout& layout, ProfileId profile_id) {
  const GiProfile* profile = model.FindProfile(profile_id);
  if (profile == nullptr) return 0;
  Layout scratch = layout;
  return MaxMore(model, scratch, *profile, 0);
}

}  // namespace migctl
