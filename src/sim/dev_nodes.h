// The device files of a simulated machine, as the NVIDIA driver lays them out, so that tools which read them
// (Slurm's gres.conf `File=` checks, `migctl slurm gres`) run against the simulator unchanged:
// `/proc/driver/nvidia-caps/mig-minors` (the capability minor table) and stand-ins for `/dev/nvidiaN` and
// `/dev/nvidia-caps/nvidia-capM`, all under a root directory of the caller's choosing.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace migctl::sim {

/// The driver's minor of `gpuG/giI/access` and of `gpuG/giI/ciC/access` (GI 0-14, CI 0-7; 135 per GPU minor).
unsigned GiAccessMinor(unsigned gpu_minor, unsigned gi);
unsigned CiAccessMinor(unsigned gpu_minor, unsigned gi, unsigned ci);

/// The whole mig-minors table as the driver writes it: `config 1`, `monitor 2`, then every GPU minor 0-31
/// with each of its GI and CI capabilities (the table is fixed; it does not follow the instances).
std::string MigMinorsTable();

/// Under `root`: `proc/driver/nvidia-caps/mig-minors`, and for each of `gpu_minors` a `dev/nvidiaN` and its 135
/// `dev/nvidia-caps/nvidia-capM` (plus cap1 and cap2): character devices with /dev/null's numbers (1:3), which
/// needs root (CAP_MKNOD); `*plain` (when given) is set when they had to be plain files instead. Existing files
/// are kept. `root` is made and checked as a private directory (common/private_dir.h: the user's own, nobody
/// else can change it or a directory above it), else kInvalidInput; kIo when a directory or file cannot be made.
Status MakeStandInDevices(const std::string& root, const std::vector<unsigned>& gpu_minors, bool* plain);

}  // namespace migctl::sim
