// What pending Slurm jobs ask of MIG: the GPU types (`gres:gpu:3g.40gb:1`) of every pending job or array
// element, counted, as `slurm reshape` turns them into demand for this node's idle slices. Pure.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace migctl::slurm {

/// `squeue -h -r -t PENDING -o %i|%b`: one line per pending job or array element, its id and the GRES it asks
/// per node.
std::vector<std::string> PendingGresArgv();

/// GPUs asked per type over every line of `squeue_output` (PendingGresArgv's format), by type name: a line's
/// `gres:gpu:TYPE:N` (also `gres/gpu:TYPE:N`, and `gpu:TYPE` for one) counts N. GPUs without a type, other
/// GRES and malformed entries count nothing.
std::map<std::string, unsigned> PendingGpuTypes(std::string_view squeue_output);

}  // namespace migctl::slurm
