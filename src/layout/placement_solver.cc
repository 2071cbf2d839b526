#include "layout/placement_solver.h"

#include <algorithm>
#include <bit>
#include <numeric>

#include <fmt/format.h>

#include "layout/feasibility.h"

namespace migctl {
namespace {

/// Larger profiles first: by placement size, then compute slices, then id (for a stable order).
bool LargerFirst(const GiProfile& a, const GiProfile& b) {
  if (a.placement_size != b.placement_size) return a.placement_size > b.placement_size;
  if (a.compute_slices != b.compute_slices) return a.compute_slices > b.compute_slices;
  return a.id < b.id;
}

struct Search {
  const GpuModel& model;
  std::vector<const GiProfile*> order;  // requests, largest first
  Layout current;                       // existing + placed so far
  size_t existing = 0;
  bool found = false;
  Layout best;  // existing + all requests, in `order`
  Room best_room;
  size_t deepest = 0;     // most requests placed in any branch
  Layout deepest_layout;  // existing + those requests

  void Run(size_t i) {
    if (i > deepest) {
      deepest = i;
      deepest_layout = current;
    }
    if (i == order.size()) {
      Room room = ComputeRoom(model, current);
      if (!found || room > best_room) {
        found = true;
        best = current;
        best_room = std::move(room);
      }
      return;
    }
    const GiProfile& profile = *order[i];
    // Symmetry: identical requests take strictly increasing starts.
    unsigned min_start = 0;
    if (i > 0 && order[i - 1]->id == profile.id) min_start = current.back().start + 1;
    for (unsigned start : profile.starts) {
      if (start < min_start) continue;
      PlacedInstance candidate{profile.id, start};
      if (CheckAddition(model, current, candidate) != Conflict::kNone) continue;
      current.push_back(candidate);
      Run(i + 1);
      current.pop_back();
    }
  }
};

std::string Names(const std::vector<const GiProfile*>& profiles) {
  std::string out;
  for (const GiProfile* p : profiles) out += (out.empty() ? "" : " + ") + p->name;
  return out;
}

/// Why `blocked` cannot join `layout` at any of its starts: the first conflict that holds for all of them,
/// told in terms of what the user can see (slots and compute slices in use, or how many were asked).
std::string WhyNoRoom(const Search& search, const Layout& layout, const GiProfile& blocked) {
  const GpuModel& model = search.model;
  SlotMask taken = OccupiedSlots(model, layout);
  unsigned used_compute = 0;
  for (const PlacedInstance& i : layout) used_compute += model.FindProfile(i.profile)->compute_slices;
  std::string after = layout.empty() ? "" : " after " + DescribeLayout(model, layout);
  for (unsigned start : blocked.starts) {
    Conflict c = CheckAddition(model, layout, PlacedInstance{blocked.id, start});
    if (c == Conflict::kInstanceLimit) {
      auto existing = std::count_if(layout.begin(), layout.begin() + static_cast<long>(search.existing),
                                    [&](const PlacedInstance& i) { return i.profile == blocked.id; });
      auto asked = std::ranges::count(search.order, &blocked);
      return ExplainInstanceLimit(model, blocked, static_cast<unsigned>(existing),
                                  static_cast<unsigned>(asked));
    }
    if (c == Conflict::kMediaExclusive)
      return ExplainConflict(model, layout, PlacedInstance{blocked.id, start}, c);
  }
  unsigned taken_slots = static_cast<unsigned>(std::popcount(taken));
  if (used_compute + blocked.compute_slices > model.compute_slices &&
      taken_slots + blocked.placement_size <= model.memory_slots)
    return fmt::format("{} of {} compute slices are used{}, and {} needs {}", used_compute,
                       model.compute_slices, after, blocked.name, blocked.compute_slices);
  if (taken_slots + blocked.placement_size > model.memory_slots)
    return fmt::format("{} of {} memory slots are taken{}, and {} needs {}", taken_slots, model.memory_slots,
                       after, blocked.name, blocked.placement_size);
  std::string starts;
  for (unsigned s : blocked.starts) starts += (starts.empty() ? "" : ",") + std::to_string(s);
  return fmt::format("{} needs {} free slot{} starting at one of {{{}}}, and none is free{}", blocked.name,
                     blocked.placement_size, blocked.placement_size == 1 ? "" : "s", starts, after);
}

}  // namespace

Room ComputeRoom(const GpuModel& model, const Layout& layout) {
  std::vector<const GiProfile*> profiles;
  for (const GiProfile& p : model.gi_profiles) profiles.push_back(&p);
  std::stable_sort(profiles.begin(), profiles.end(),
                   [](const GiProfile* a, const GiProfile* b) { return LargerFirst(*a, *b); });
  Room room;
  room.reserve(profiles.size());
  for (const GiProfile* p : profiles) room.push_back(RemainingCapacity(model, layout, p->id));
  return room;
}

Result<Layout> SolvePlacements(const GpuModel& model, const Layout& existing,
                               const std::vector<ProfileId>& requests) {
  MIGCTL_RETURN_IF_ERROR(CheckLayout(model, existing));
  Search search{model, {}, existing, existing.size()};
  search.deepest_layout = existing;
  std::vector<size_t> request_of_order(requests.size());
  std::iota(request_of_order.begin(), request_of_order.end(), 0);
  for (ProfileId id : requests) {
    const GiProfile* p = model.FindProfile(id);
    if (p == nullptr)
      return MakeError(ErrorCode::kInvalidInput,
                       fmt::format("{} has no GPU instance profile with id {} (see 'migctl profiles')",
                                   model.key, id.value()));
  }
  std::stable_sort(request_of_order.begin(), request_of_order.end(), [&](size_t a, size_t b) {
    return LargerFirst(*model.FindProfile(requests[a]), *model.FindProfile(requests[b]));
  });
  for (size_t r : request_of_order) search.order.push_back(model.FindProfile(requests[r]));

  search.Run(0);
  if (!search.found) {
    const GiProfile& blocked = *search.order[search.deepest];
    return MakeError(ErrorCode::kInfeasible, fmt::format("{} does not fit: {}", Names(search.order),
                                                         WhyNoRoom(search, search.deepest_layout, blocked)));
  }
  Layout placed(requests.size());
  for (size_t k = 0; k < request_of_order.size(); ++k)
    placed[request_of_order[k]] = search.best[existing.size() + k];
  return placed;
}

}  // namespace migctl
