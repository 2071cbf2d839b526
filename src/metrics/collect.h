// One look at the host's GPUs for the exporter: every GPU's snapshot (nvml::ObserveGpu), each MIG-on GPU's
// remaining capacity per profile, and which MIG devices a migctl task or worker holds the lease of.
#pragma once

#include <map>
#include <string>
#include <utility>

#include "common/result.h"
#include "launch/lease.h"
#include "metrics/host_metrics.h"
#include "nvml/device.h"

namespace migctl::metrics {

/// GPM samples kept from one look to the next: GPM measures between two samples. Owned by the caller across
/// Collect calls; the first look gives no GPM metrics.
struct GpmState {
  std::map<std::pair<unsigned, long long>, nvml::GpmSample> last;  ///< By (GPU index, GI id or -1).
  std::map<unsigned, bool> supported;                              ///< By GPU index, asked once.
};

/// Errors: the first NVML failure, naming the GPU. `leases` may be null (no lease is reported held); `gpm`
/// may be null (no GPM).
Result<HostSample> Collect(const nvml::Nvml& nvml, const LeaseTable* leases, const std::string& hostname,
                           GpmState* gpm = nullptr);

}  // namespace migctl::metrics
