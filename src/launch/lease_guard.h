// No command removes a slice a `migctl run` task is using: a GPU change that would destroy a MIG device whose
// lease a live task holds (launch/lease.h) is refused before anything changes. NVML's process list already
// guards real hardware (a busy instance is never destroyed); the lease also covers the moment before a task
// has a CUDA context, and the simulator, whose instances have no processes.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "common/result.h"
#include "launch/lease.h"
#include "nvml/device.h"
#include "reconcile/conductor.h"

namespace migctl {

/// kBusy naming the first GPU instance that `plans` destroy (a GI or CI destroyed, MIG turned off, the GPU
/// reset) while a live task holds the lease of one of its MIG devices: which device, the task's pid, and
/// what to do. Ok otherwise. Reads the lease records only: takes no lock.
Status CheckNoLeasedDeviceGoes(const std::vector<GpuOutcome>& plans, const LeaseTable& leases);

/// Before a change that may destroy idle slices (reshape): takes the lease of every MIG device of `devices`
/// that has no processes and whose lease is free, so that no run starts a task on one meanwhile; `leased`
/// gets their UUIDs. The leases are held as long as the returned vector lives. Errors: NVML's, and
/// TryAcquire's (a lease directory that is not private).
Result<std::vector<Lease>> LeaseIdleMigDevices(const std::vector<nvml::Device>& devices, LeaseTable& leases,
                                               std::set<std::string>* leased);

}  // namespace migctl
