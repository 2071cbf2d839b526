// Resetting one GPU to activate a pending MIG mode: the simulator's reset call, or `nvidia-smi -r -i N` on
// real hardware (NVML has no reset entry point).
#pragma once

#include "common/result.h"
#include "nvml/device.h"

namespace migctl {

/// Resets `device` only. Errors: kUnsupported when nvidia-smi cannot be run; kNvml when the reset fails (the
/// message says a VM without reset support needs a reboot). Precondition: the caller checked the GPU is idle.
Status ResetGpu(const nvml::Device& device);

}  // namespace migctl
