// Demand drawn from the Alibaba GPU-sharing trace (`cluster-trace-gpu-v2023`, the "openb" pod lists behind
// FGD, USENIX ATC'23): its GPU-sharing pods, their mapping to MIG needs, and the paper's sampling protocol.
// Pure apart from LoadSharingPods, which reads one file.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "planner/plan.h"

namespace migctl::planner {

/// A pod that asks for a fraction of one GPU.
struct SharingPod {
  std::string name;        ///< `openb-pod-0001`.
  unsigned gpu_milli = 0;  ///< Thousandths of one GPU, 1 to 999.
  /// Seconds from the trace's start (`creation_time`, `deletion_time`), when the list has them; a pod the
  /// trace never deleted has no `deleted`.
  std::optional<unsigned long long> created;
  std::optional<unsigned long long> deleted;
};

/// Reads an openb pod list (`openb_pod_list_*.csv`) and returns its GPU-sharing pods (num_gpu == 1 and
/// 0 < gpu_milli < 1000), in file order, with their creation and deletion times where the list has them (an
/// empty or non-numeric time is left out). Errors: kNotFound or kIo when the file cannot be read; kCorrupt
/// when the header lacks `name`, `num_gpu` or `gpu_milli` or a row's numbers do not parse (naming the line).
Result<std::vector<SharingPod>> LoadSharingPods(const std::string& path);

/// How a pod's fraction of a GPU becomes a MIG need. The trace's GPUs are not MIG-capable and its pods carry
/// no GPU memory figure (`memory_mib` is host memory), so both mappings start from gpu_milli.
enum class NeedMapping {
  kCompute,  ///< ceil(7 * gpu_milli / 1000) compute slices.
  kMemory,   ///< ceil(gpu_milli / 1000 * 80 GiB) MiB: the same fraction of an 80 GB card's memory.
};

/// `compute` or `memory`.
const char* NeedMappingName(NeedMapping mapping);

/// The need of one pod, count 1, named after the need (`4 slices`, `37683 MiB`).
Workload NeedOf(const SharingPod& pod, NeedMapping mapping);

/// One workload per pod, in the pods' order: the arrival order a scheduler sees.
std::vector<Workload> PodWorkloads(const std::vector<SharingPod>& pods, NeedMapping mapping);

/// Pods with equal needs merged into one workload with their count, smallest need first.
std::vector<Workload> AggregateNeeds(const std::vector<SharingPod>& pods, NeedMapping mapping);

/// The ATC'23 protocol's submission: `pods` shuffled with `seed` (Fisher-Yates over std::mt19937_64, so the
/// same seed gives the same order everywhere), then taken in that order until their gpu_milli sum reaches
/// `target_milli` (the pod that reaches it is included). All pods, shuffled, when the target is never
/// reached. For "130% of a fleet of N GPUs" pass 1.3 * N * 1000.
std::vector<SharingPod> SamplePods(const std::vector<SharingPod>& pods, unsigned long long seed,
                                   unsigned long long target_milli);

}  // namespace migctl::planner
