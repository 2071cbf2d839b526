// Slurm's configuration files as text, edited for one node: its `Gres=` in slurm.conf and its GPU lines in
// gres.conf, every other byte kept. Pure: text in, text (or a refusal that says what to change by hand) out.
//
// Only what migctl can edit safely is edited. A node that shares a NodeName= line with others (`n[1-3]`,
// `a,b`), whose line continues with `\`, or that is in an Include file has no line of its own to change; a
// gres.conf line without NodeName= or with AutoDetect= decides GPUs for this node too. Each is refused in one
// line naming the file and line, with the change that makes it editable.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace migctl::slurm {

/// True when Slurm's host list `list` names `host`: `n1`, `n[1-3]`, `a,b`, `gpu[01-10,12]`, `r[1-2]n[1-4]`.
/// Zero-padded ranges match names of that width only, as Slurm's hostlist does.
bool HostListNames(std::string_view list, std::string_view host);

/// The GPUs of a Gres= value by type: `gpu:1g.10gb:3,gpu:3g.40gb:1,nic:2` -> {1g.10gb: 3, 3g.40gb: 1}. An
/// untyped `gpu:2` counts under type "", a `gpu` without count as 1; a suffix slurmctld adds (`(S:0)`) is
/// ignored. Other GRES are not GPUs and not counted.
std::map<std::string, unsigned> GpuCounts(std::string_view gres);

/// `node`'s own line in slurm.conf.
struct NodeLine {
  unsigned line = 0;  ///< 1-based.
  std::string gres;   ///< Its Gres= value as written ("" when it has none).
};

/// Finds the one NodeName= line (the key in any case) that names `node` alone. kInvalidInput, naming `file`
/// and the line, when `node` is named only by a line shared with other nodes ("give n1 a NodeName line of its
/// own"), by more than one line, by a line that continues with `\`, or by none ("is it in an Include file?").
Result<NodeLine> FindNodeLine(std::string_view slurm_conf, std::string_view node, std::string_view file);

/// `slurm_conf` with `node`'s Gres= set to `gpu_gres` (NodeGresValue's `gpu:1g.10gb:3,...`): the GPU entries
/// of its current value are replaced, other GRES (`nic:2`) kept after them; a line without Gres= gets `
/// Gres=` after its last setting. Every other byte, comments included, stays. Errors as FindNodeLine.
Result<std::string> SetNodeGres(std::string_view slurm_conf, std::string_view node, std::string_view gpu_gres,
                                std::string_view file);

/// gres.conf with one node's GPU lines replaced.
struct GresConfEdit {
  std::string text;                    ///< The whole new gres.conf.
  std::vector<std::string> old_lines;  ///< The node's `Name=gpu` lines before, trimmed, in file order.
  std::vector<std::string> new_lines;  ///< The lines put in their place, comments left out.
};

/// Removes every line whose NodeName= is exactly `node` and whose Name= is gpu, and the comment `migctl slurm
/// gres` writes above them (`# <node>: ...`), and puts `new_lines` (GresConfLines's text) where the first
/// removed line was, else at the end. Other nodes' lines, other GRES and comments stay byte for byte.
/// kInvalidInput, naming `file` and the line, for a `Name=gpu` line without NodeName= (it applies to every
/// node), one whose NodeName= names `node` among others, one of `node`'s that continues with `\`, and
/// AutoDetect= other than off for `node` or for every node (slurmd would find the GPUs itself and the File=
/// lines would disagree with it).
Result<GresConfEdit> ReplaceNodeGresLines(std::string_view gres_conf, std::string_view node,
                                          std::string_view new_lines, std::string_view file);

/// How far Slurm's configuration of a node is from its live layout, and so what Slurm 22.05 needs to take it.
enum class GresChange {
  kInSync,         ///< Same GPU counts per type and the same gres.conf lines: nothing to do.
  kSameCounts,     ///< Same counts per type, other lines (device files, UUID order): `scontrol reconfigure`.
  kCountsChanged,  ///< Counts or types differ: slurmctld keeps the old counts until it restarts.
};

/// `in_sync`, `same_counts`, `counts_changed`.
const char* GresChangeName(GresChange change);

/// Compares slurm.conf's Gres= (`current_gres`, only its GPUs count) and the node's gres.conf GPU lines with
/// what the live layout gives.
GresChange ClassifyChange(std::string_view current_gres, std::string_view desired_gres,
                          const std::vector<std::string>& current_lines,
                          const std::vector<std::string>& desired_lines);

}  // namespace migctl::slurm
