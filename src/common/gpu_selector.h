// The one place where user-typed GPU selections (`-i 0,2-3,GPU-…,0000:3b:00.0`) are parsed and resolved.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/ids.h"
#include "common/result.h"

namespace migctl {

/// What identifies a GPU on this host, as NVML reports it.
struct GpuIdentity {
  GpuIndex index;
  GpuUuid uuid;
  std::string pci_bus_id;  ///< NVML form, e.g. `00000000:3B:00.0`.
};

/// A parsed selection: a comma-separated list of indexes, inclusive ranges (`2-5`), GPU UUIDs (`GPU-…`, a
/// unique prefix of at least 8 characters after `GPU-` is enough) and PCI bus ids (`3b:00.0`, `0000:3b:00.0`
/// or NVML's `00000000:3B:00.0`; case-insensitive), or `all`.
class GpuSelector {
 public:
  /// Parses `text`. Errors (kInvalidInput) name the offending term. An empty string is an error.
  static Result<GpuSelector> Parse(std::string_view text);
  /// Selects every GPU.
  static GpuSelector All();

  /// Resolves against the host's GPUs. Returns the selected GPUs in index order without duplicates, or
  /// kNotFound naming the first term that matches nothing (and how many GPUs exist), or kInvalidInput for an
  /// ambiguous prefix.
  Result<std::vector<GpuIndex>> Resolve(const std::vector<GpuIdentity>& gpus) const;

  bool selects_all() const { return all_; }

 private:
  struct Term {
    enum Kind { kIndexRange, kUuid, kPci } kind;
    unsigned first = 0, last = 0;  ///< kIndexRange
    std::string text;              ///< kUuid (lower-case) or kPci (normalized)
  };
  bool all_ = false;
  std::vector<Term> terms_;
};

/// Normalizes a PCI bus id to NVML's `DDDDDDDD:BB:DD.F` upper-case form; returns "" when `text` is not one.
std::string NormalizePciBusId(std::string_view text);

}  // namespace migctl
