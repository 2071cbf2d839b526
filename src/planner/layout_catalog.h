// The layouts the planner lets a GPU take: maximal ones only, since any layout that serves some work is part
// of a maximal one that serves the same work (the instances nobody uses are dropped from the plan).
#pragma once

#include <utility>
#include <vector>

#include "catalog/gpu_model.h"
#include "layout/layout.h"

namespace migctl::planner {

/// One layout a GPU may take in the program.
struct CandidateLayout {
  Layout placements;                                   ///< Canonical order.
  std::vector<std::pair<ProfileId, unsigned>> counts;  ///< Free instances per profile (busy ones left out).
  unsigned kept = 0;  ///< Instances of the GPU's current layout that stay where they are.
};

/// The layouts a GPU of `model` may take when nothing on it must stay: one per maximal multiset of plannable
/// profiles, placed to leave the most room. Fresh GPUs of one model are interchangeable, so the multiset is
/// all that matters. Thread-safe; for built-in models computed once per process.
std::vector<CandidateLayout> FreshLayouts(const GpuModel& model);

/// The layouts a GPU of `model` that runs `current` (a valid layout) may take, for keep-current: the maximal
/// placed layouts over plannable profiles and the profiles of `current`, one per multiset (the placement
/// that keeps the most of `current`, `kept`), without those that another candidate dominates (a larger
/// multiset that keeps at least as many). Placed rather than multiset-maximal, because what a placement
/// keeps depends on where its instances sit. With `busy` (instances of `current`): only layouts that hold
/// every busy instance where it is, and `counts` leave the busy instances out (they serve nothing). An empty
/// `current` gives FreshLayouts. Thread-safe; for built-in models computed once per process and input.
std::vector<CandidateLayout> LayoutsKeeping(const GpuModel& model, const Layout& current,
                                            const Layout& busy = {});

}  // namespace migctl::planner
