// The mig-parted v1 config file, parsed and validated but not yet applied to any GPU: a set of named layouts
// (`mig-configs`), each a list of per-GPU specs. Profile names are kept as written; they are resolved against
// each GPU's own model later (names differ between models), see spec/targets.h.
//
// Everything mig-parted accepts is accepted with the same meaning. Extensions (rejected by mig-parted, so a
// plain mig-parted file never contains them): `devices` entries that are GPU UUIDs or PCI bus ids, and
// `mig-instances` (explicit GPU instances with optional placement and compute instances) instead of
// `mig-devices`.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "spec/device_filter.h"
#include "spec/profile_name.h"
#include "spec/source_pos.h"

namespace migctl::spec {

/// One entry of `devices: [...]`: a GPU index (mig-parted), or (extension) a GPU UUID or PCI bus id string.
struct DeviceRef {
  std::optional<unsigned> index;
  /// When not an index: the string as written, which GpuSelector::Parse reads as one GPU: `GPU-` and at least
  /// 8 hex digits (a UUID or a prefix of one), or a PCI bus id.
  std::string selector;
  SourcePos pos;
};

/// Extension: one compute instance of an explicit GPU instance.
struct CiSpec {
  ProfileName profile;            ///< `1c.3g.40gb`, or the GI's own name for a full-width CI.
  std::optional<unsigned> start;  ///< On the GI's compute-slice axis; nullopt: migctl chooses.
  SourcePos pos;
};

/// Extension: one explicit GPU instance (`mig-instances` entry).
struct InstanceSpec {
  ProfileName profile;            ///< A GI profile (no `c.` part).
  std::optional<unsigned> start;  ///< Memory-slot placement; nullopt: migctl chooses.
  /// nullopt: one compute instance of the GI's full width (what a plain `mig-devices` entry makes);
  /// empty: a GPU instance without compute instances.
  std::optional<std::vector<CiSpec>> compute_instances;
  SourcePos pos;
};

/// One `mig-devices` entry: a profile and how many.
struct ProfileCount {
  ProfileName profile;
  unsigned count = 0;  ///< May be 0 (mig-parted allows it as long as not every count is 0).
  SourcePos pos;
};

/// One element of a layout's list: which GPUs, and what they get.
struct MigConfigSpec {
  std::vector<DeviceFilter> device_filters;  ///< Empty: no filter.
  bool all_devices = false;                  ///< `devices: all`.
  std::vector<DeviceRef> devices;            ///< When not all.
  bool mig_enabled = false;
  std::vector<ProfileCount> mig_devices;    ///< In file order. Empty with mig_enabled: `{}`.
  std::vector<InstanceSpec> mig_instances;  ///< Extension; when set, mig_devices is empty.
  bool uses_instances = false;              ///< `mig-instances` was written (even if empty).
  SourcePos pos;                            ///< The spec's mapping.
};

struct NamedConfig {
  std::string label;
  std::vector<MigConfigSpec> specs;
  SourcePos pos;
};

struct ConfigFile {
  std::string path;                  ///< For messages: as given (`-` is shown as `<stdin>`).
  std::vector<NamedConfig> configs;  ///< In file order.
};

/// Parses and validates a whole config file. `path` is only used in messages. Every error is kInvalidInput
/// and reads `PATH:LINE:COLUMN: what is wrong; what to do`, on one line, with mig-parted's wording where it
/// has one. Checks: UTF-8 text without control characters, at most 4 MiB; YAML syntax (a tab in indentation
/// is named as such), one document; `version: v1`; a non-empty `mig-configs`; per label a non-empty list; per
/// spec the required `devices` and `mig-enabled` (a YAML boolean, unquoted), unknown keys, `mig-devices` iff
/// enabled (mig-parted's rules), counts unquoted integers from 0 to 64 and not all zero, well-formed profile
/// names and device filters, devices `all` or a list without duplicates; for `mig-instances`, GI profiles
/// without a `c.` part and compute instances of their own GI; no duplicate key, label or profile anywhere.
/// YAML anchors, aliases and `<<` merge keys work as in mig-parted (up to 50,000 nodes read, so an alias bomb
/// is an error). An empty file is an error (nothing to apply).
Result<ConfigFile> ParseConfig(std::string_view text, std::string_view path);

/// Reads `path` (`-` is stdin) and parses it. kNotFound when it is missing; kInvalidInput for a directory or
/// a file over the size cap (both exit 2, as bad input); kIo when it cannot be read.
Result<ConfigFile> LoadConfig(const std::string& path);

/// The layout named `label`; with an empty label, the only layout (kInvalidInput when there are several,
/// listing them). kNotFound listing the labels when none has that name.
Result<const NamedConfig*> SelectConfig(const ConfigFile& file, std::string_view label);

}  // namespace migctl::spec
