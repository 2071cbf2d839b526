// One look at the host's GPUs for the exporter: every GPU's snapshot (nvml::ObserveGpu), each MIG-on GPU's
// remaining capacity per profile, and which MIG devices a migctl task or worker holds the lease of.
#pragma once

#include <string>

#include "common/result.h"
#include "launch/lease.h"
#include "metrics/host_metrics.h"
#include "nvml/device.h"

namespace migctl::metrics {

/// Errors: the first NVML failure, naming the GPU. `leases` may be null (no lease is reported held).
Result<HostSample> Collect(const nvml::Nvml& nvml, const LeaseTable* leases, const std::string& hostname);

}  // namespace migctl::metrics
