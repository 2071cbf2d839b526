// Slurm's view of a node's GPUs, derived from the live layout alone: one GRES device per MIG device (and per
// whole GPU with MIG off), in the one order that the gres.conf lines, Slurm's node-wide GRES indexes
// (SLURM_STEP_GPUS, SLURM_JOB_GPUS: positions in gres.conf order) and the index -> UUID map all share. So
// `migctl exec` inside a job step needs no file on the node: it observes the layout and derives the same
// order. Pure: snapshots and text in, values out.
//
// Type names are keyed by profile ID (through the GPU model's slices and memory), rendered as Slurm's own NVML
// autodetection renders the end of its name, `<slices>g.<round(memorySizeMB / 1024)>gb`, so the type is a
// substring of what `AutoDetect=nvml` would call the device (`nvidia_h100_80gb_hbm3_3g.40gb`): `--gres`
// requests keep working if a site switches to autodetection. On H100 this is NVIDIA's own profile name; on
// H200 a 1g.18gb (16384 MiB) is `1g.16gb`, as Slurm names it. A profile and its `+me` twin share one type.
// A whole GPU's type is its lower-case NVML name with `_` for spaces, as Slurm names it (`nvidia_h100_80gb_hbm3`,
// `nvidia_a100-sxm4-40gb`).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "nvml/snapshot.h"

namespace migctl::slurm {

/// Where the kernel lists the minor numbers of the MIG capability devices (`/dev/nvidia-caps/nvidia-capN`).
inline constexpr const char* kMigMinorsPath = "/proc/driver/nvidia-caps/mig-minors";

/// `gpu0/gi1/access` -> 12, `gpu0/gi1/ci0/access` -> 13, `config` -> 1, ...
using MigMinors = std::map<std::string, unsigned>;

/// Reads the mig-minors table (`NAME MINOR` a line). kCorrupt `mig-minors line N: ...` for a line that is not
/// a name and a number.
Result<MigMinors> ParseMigMinors(std::string_view text);

/// One GPU as Slurm sees it.
struct GresDevice {
  unsigned index = 0;  ///< Slurm's node-wide GRES index: the position in gres.conf order.
  std::string type;    ///< gres.conf `Type=`: `3g.40gb`, or a whole GPU's `nvidia_h100_80gb_hbm3`.
  std::string uuid;    ///< What CUDA_VISIBLE_DEVICES gets: the MIG UUID, or the GPU UUID of a whole GPU.
  unsigned gpu = 0;    ///< The GPU's NVML index.
  std::string gpu_uuid;
  std::string profile;                ///< NVIDIA's profile name (`3g.40gb`, `1g.10gb+me`); empty for a whole GPU.
  std::optional<unsigned> gi;         ///< MIG devices: GPU instance id.
  std::optional<unsigned> ci;         ///< MIG devices: compute instance id.
  std::optional<unsigned> start;      ///< MIG devices: the GI's placement start.
  unsigned long long memory_mib = 0;  ///< The profile's memory (memorySizeMB), or the whole GPU's.
  /// Device files, when mig-minors was given: `/dev/nvidiaN`, then for a MIG device its GI and CI
  /// capability files (`/dev/nvidia-caps/nvidia-capG`, `…capC`), each under the dev root.
  std::vector<std::string> files;
};

/// `<slices>g.<round(memory_mib / 1024)>gb`, halves rounded up (Slurm's ROUND).
std::string MigTypeName(unsigned slices, unsigned long long memory_mib);
/// The plain (not `+me`) profile of `model` whose type is `type` (MigTypeName), or nullptr: what a job's
/// `--gres=gpu:TYPE` asks of a GPU of that model (`1g.16gb` is an H200's 1g.18gb).
const GiProfile* ProfileOfType(const GpuModel& model, std::string_view type);
/// `NVIDIA H100 80GB HBM3` -> `nvidia_h100_80gb_hbm3`; `NVIDIA A100-SXM4-40GB` -> `nvidia_a100-sxm4-40gb`.
std::string WholeGpuTypeName(std::string_view nvml_name);

/// The GRES devices of `host`, indexed in Slurm's order: MIG types by slices, then memory, then name; within
/// a type by GPU index, then placement, then CI id; whole GPUs (MIG off) after every MIG device, by index.
/// Grouped by type so that a new layout with the same counts per type keeps every index's type (Slurm then
/// needs no restart). Slurm's AutoDetect=nvml orders the same devices otherwise (by MIG index on its GPU, then
/// files), which is why exec takes the UUIDs Slurm sets in that case. A
/// GPU with MIG on but no MIG device contributes nothing. With `minors`, each device's files are filled in,
/// their paths under `dev_root` (empty: `/dev/...`; `ROOT`: `ROOT/dev/...`). Errors: kInvalidInput (one line,
/// what to do: a node without MIG is bad input for every Slurm command) when the host has no MIG device at all; kNotFound when `minors` lacks a device's capability
/// or NVML gave a GPU no minor number.
Result<std::vector<GresDevice>> DescribeGres(const nvml::HostSnapshot& host, const MigMinors* minors,
                                             std::string_view dev_root);

/// gres.conf lines for `node`, one per device in index order, after a comment that says where they come from:
/// `NodeName=n1 Name=gpu Type=3g.40gb MultipleFiles=/dev/nvidia0,/dev/nvidia-caps/nvidia-cap12,…` (whole GPUs:
/// `File=/dev/nvidiaN`). Devices without files get none (Slurm then sets no CUDA_VISIBLE_DEVICES).
std::string GresConfLines(std::string_view node, const std::vector<GresDevice>& devices);

/// slurm.conf's node `Gres=` value: `gpu:1g.10gb:3,gpu:3g.40gb:1`, types in index order.
std::string NodeGresValue(const std::vector<GresDevice>& devices);

/// The index -> UUID map as text: a comment, then `INDEX UUID TYPE` a line.
std::string GresMapText(const std::vector<GresDevice>& devices);

/// One line of a map file.
struct MapEntry {
  unsigned index = 0;
  std::string uuid;
  std::string type;
};

/// Reads GresMapText's format back (`#` comments and blank lines skipped). kCorrupt `FILE line N: ...` for a
/// malformed line or an index listed twice.
Result<std::vector<MapEntry>> ParseGresMap(std::string_view text, std::string_view file);

/// Slurm's GPU index list (`0,3`, `0-2,5`), as SLURM_STEP_GPUS and SLURM_JOB_GPUS give it. kInvalidInput for
/// anything else, naming `variable`.
Result<std::vector<unsigned>> ParseIndexList(std::string_view text, std::string_view variable);

}  // namespace migctl::slurm
