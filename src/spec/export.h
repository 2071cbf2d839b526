// The other direction of spec/: a host's current MIG state written as a config that `apply` (and, in counts
// form, mig-parted) takes back.
#pragma once

#include <string>
#include <vector>

#include "common/ids.h"

namespace migctl::spec {

struct ExportCi {
  std::string name;  ///< `1c.3g.40gb`; the GI's own name for a full-width CI.
  unsigned start = 0;
};

struct ExportGi {
  std::string name;  ///< `3g.40gb`.
  unsigned start = 0;
  std::vector<ExportCi> cis;
  bool default_ci_only = false;  ///< Exactly one CI, the GI's default: written as the plain profile.
};

struct ExportGpu {
  GpuIndex index;
  bool mig_enabled = false;
  std::vector<ExportGi> instances;  ///< In placement order.
};

enum class ExportFormat { kYaml, kJson };

/// `kPlacements` (default) keeps every placement and CI grouping with `mig-instances`, so applying the export
/// recreates the state exactly; `kCounts` writes plain mig-parted `mig-devices` counts (placements are lost,
/// and a GI without compute instances cannot be written: it is left out with a warning).
enum class ExportStyle { kPlacements, kCounts };

struct ExportResult {
  std::string text;
  std::vector<std::string> warnings;
};

/// A `version: v1` document with one layout, `label`. GPUs with equal content share one spec; a spec that
/// covers every GPU says `devices: all`.
ExportResult ExportConfig(const std::vector<ExportGpu>& gpus, const std::string& label, ExportFormat format,
                          ExportStyle style);

}  // namespace migctl::spec
