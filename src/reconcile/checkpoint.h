// A host's exact MIG state (mode, every GI and CI with its placement), as `migctl checkpoint` writes it and
// `migctl restore` reads it; apply's journal stores one GPU of it. Versioned JSON.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/ids.h"
#include "common/result.h"
#include "reconcile/gpu_plan.h"
#include "reconcile/observed_gpu.h"

namespace migctl {

struct CheckpointCi {
  CiProfileId profile;
  std::string name;
  unsigned start = 0;
  unsigned size = 0;
};

struct CheckpointGi {
  ProfileId profile;
  std::string name;
  unsigned start = 0;
  unsigned size = 0;
  std::vector<CheckpointCi> cis;
};

struct GpuCheckpoint {
  GpuIndex index;  ///< At checkpoint time; restore finds the GPU by UUID.
  GpuUuid uuid;
  std::string name;
  bool mig_enabled = false;
  std::vector<CheckpointGi> instances;

  /// The goal that recreates this state exactly (profiles by id, every placement fixed) on GPU `gpu`.
  GpuGoal Goal(GpuIndex gpu, std::string origin) const;
};

struct Checkpoint {
  std::vector<GpuCheckpoint> gpus;
};

/// `gpu` as it is: current MIG mode, GIs and CIs with placements.
GpuCheckpoint CheckpointOf(const ObservedGpu& gpu);

/// `{"version": 1, "kind": "migctl-checkpoint", "gpus": [...]}`. Other top-level keys are allowed (a journal
/// adds `journal`), so a journal file is also a checkpoint.
std::string CheckpointToJson(const Checkpoint& checkpoint, const std::string& extra_key = "",
                             const std::string& extra_json = "");

/// Parses a checkpoint, refusing any entry it cannot trust, because restore acts on it: kCorrupt, one line
/// naming `path` and the GPU, for malformed JSON, an unknown version, a missing field or one of the wrong
/// type or range (never wrapped: a start of -1 is an error), a GPU listed twice (same index or same UUID),
/// GPU instances on a GPU with MIG off, a placement of size 0 or past slot 63, and overlapping GIs (or CIs of
/// one GI). Whether the profiles and placements exist on the GPU is the planner's check, at restore.
Result<Checkpoint> ParseCheckpoint(std::string_view text, std::string_view path);

}  // namespace migctl
