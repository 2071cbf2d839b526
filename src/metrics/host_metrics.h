// What one look at the host's GPUs becomes as Prometheus metrics: per GPU, per MIG device, and per profile
// how many more instances fit now. Labels join with dcgm-exporter's (`gpu`, `UUID` of the parent GPU,
// `GPU_I_PROFILE`, `GPU_I_ID`, `hostname`), plus `GPU_I_PROFILE_ID` and `mig_uuid` (a MIG device's own);
// names are in the `migctl_` namespace. Every family is rebuilt from one observation, so a removed instance
// leaves no series behind. Pure.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/ids.h"
#include "metrics/exposition.h"
#include "nvml/device.h"
#include "nvml/snapshot.h"
#include "reconcile/change_counters.h"

namespace migctl::metrics {

/// How many more GPU instances of one profile fit on a GPU now (NVML's remaining capacity).
struct ProfileRoom {
  ProfileId id;
  std::string name;  ///< `3g.40gb`
  unsigned free = 0;
};

struct GpuSample {
  nvml::GpuSnapshot snapshot;
  std::vector<ProfileRoom> room;                ///< With MIG on; empty otherwise.
  std::map<std::string, bool> leased;           ///< By MIG UUID: a migctl task or worker holds its lease.
  unsigned leased_workers = 0;  ///< migctl tasks running on the whole GPU, each holding it or a share.
  std::optional<nvml::GpmMetrics> gpm;          ///< The whole GPU's since the last sample (MIG off).
  std::map<unsigned, nvml::GpmMetrics> gpm_gi;  ///< Each GPU instance's, by GI id (MIG on).
};

struct HostSample {
  std::string hostname;
  std::string driver_version;
  std::vector<GpuSample> gpus;
  double collect_seconds = 0;  ///< How long the observation took.
  ChangeCounters changes;      ///< GPU changes by command, from the run directory.
};

/// The families of one sample, in a fixed order.
std::vector<Family> HostFamilies(const HostSample& sample);

}  // namespace migctl::metrics
