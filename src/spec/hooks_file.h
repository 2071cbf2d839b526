// mig-parted's hooks file (`apply --hooks FILE`): commands run at fixed points of an apply, e.g. to stop the
// GPU's clients before a MIG mode change and start them again afterwards. Parsed and checked here; run by
// reconcile/hooks.h.
//
// The format is mig-parted's `api/hooks/v1` schema, which it reads as YAML → JSON → Go structs:
//
//   version: v1
//   hooks:
//     pre-apply-mode:              # a hook point: a list of commands, run in order
//     - workdir: /etc/migctl       # optional
//       command: /bin/systemctl    # required; looked up in PATH when it has no '/'
//       args: [stop, kubelet]      # optional, strings
//       envs: {FOO: bar}           # optional, a mapping NAME: value (not a list)
//
// Every file mig-parted runs is accepted with the same meaning, including what Go's JSON decoding lets
// through: keys matched case-insensitively (`Command:`), scalars such as `1` or `true` where a string is
// expected (kept as written), null for an absent value. Where mig-parted is silent we warn instead: unknown
// hook names and unknown keys (both ignored, as mig-parted does) and a missing `version`. We refuse, where
// mig-parted would only fail later or not at all: a command that is empty (it can never run), an env name
// that is empty or contains '=', a `version` other than v1, a hook point defined twice.
#pragma once

#include <array>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "spec/source_pos.h"

namespace migctl::spec {

/// The points of an apply where hooks run, in mig-parted's order (see reconcile/hooks.h for when).
enum class HookPoint { kApplyStart, kPreApplyMode, kPreApplyConfig, kApplyExit };
inline constexpr std::array<HookPoint, 4> kHookPoints = {HookPoint::kApplyStart, HookPoint::kPreApplyMode,
                                                         HookPoint::kPreApplyConfig, HookPoint::kApplyExit};

/// The name used in files and messages: `apply-start`, `pre-apply-mode`, `pre-apply-config`, `apply-exit`.
const char* HookPointName(HookPoint point);

/// One command of a hook point.
struct HookCommand {
  std::string command;                      ///< Never empty.
  std::vector<std::string> args;            ///< argv[1..].
  std::map<std::string, std::string> envs;  ///< Added to the child's environment.
  std::string workdir;                      ///< Empty: migctl's working directory.
  SourcePos pos;                            ///< The entry's mapping.
};

struct HooksFile {
  std::string path;  ///< As given, for messages.
  /// The commands of each hook point, indexed by HookPoint; empty where the file has none.
  std::array<std::vector<HookCommand>, kHookPoints.size()> hooks;
  /// `PATH:LINE:COLUMN: ...` lines about what is accepted but probably not meant (unknown hook names or keys,
  /// no version). For the caller to print; they do not change what runs.
  std::vector<std::string> warnings;

  const std::vector<HookCommand>& at(HookPoint point) const { return hooks[static_cast<size_t>(point)]; }
};

/// Parses a hooks file; `path` is only used in messages. An empty document is a file without hooks. Every
/// error is kInvalidInput and reads `PATH:LINE:COLUMN: what is wrong`.
Result<HooksFile> ParseHooksFile(std::string_view text, std::string_view path);

/// Reads and parses `path`. kNotFound when it does not exist, kIo when it cannot be read.
Result<HooksFile> LoadHooksFile(const std::string& path);

}  // namespace migctl::spec
