// What a simulated machine must satisfy before the simulator acts on it: the rules the simulated driver
// itself keeps, checked on every state file read, so a hand-edited or damaged file is refused in one line
// instead of reaching code that trusts it (a GI of size 0 once made `status` print 4.5 GB).
#pragma once

#include "common/result.h"
#include "sim/machine_state.h"

namespace migctl::sim {

/// Largest pid a fake process may have (Linux's PID_MAX_LIMIT).
inline constexpr unsigned kMaxPid = 4194304;

/// Checks `state` against the built-in catalog. kCorrupt, one line naming the GPU and the field (`GPU 0: GI 3
/// at start 2 size 0: a placement needs a size of 1 or more`), for the first of:
///  - more than kMaxGpus GPUs; a model the catalog lacks; an empty or repeated GPU UUID, PCI bus id or minor;
///    a MIG mode (current or pending) other than 0 or 1; GPU instances while MIG is disabled;
///  - a GI id above kMaxGpuInstanceId or repeated; a profile the model lacks; a size of 0, one other than the
///    profile's, a placement reaching past the GPU's slots or not among the profile's starts; overlapping
///    GIs; GIs that together break the model's compute, instance-count or media rules;
///  - a CI id above kMaxComputeInstanceId or repeated in its GI; a CI profile the GI's profile does not
///  offer;
///    a size of 0 or other than the profile's, a placement past the GI's compute slices or not among the
///    profile's starts; overlapping CIs; more CIs of a profile than its limit; an empty or repeated MIG UUID;
///  - a process with pid 0, above kMaxPid or repeated on the machine; a CI without its GI; a GI or CI that
///    does not exist; more memory than the GPU has.
Status CheckMachineState(const MachineState& state);

}  // namespace migctl::sim
