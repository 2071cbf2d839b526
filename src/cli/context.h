// What every command shares: global options, how to reach NVML (real or simulated), and how to print.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "catalog/gpu_model.h"
#include "common/result.h"
#include "reconcile/conductor.h"

namespace migctl {

namespace nvml {
class Nvml;
class Device;
}  // namespace nvml

using Json = nlohmann::ordered_json;

struct GlobalOptions {
  std::string sim;   ///< --sim STATE or MIGCTL_SIM: run against the simulated machine in this state file.
  std::string nvml;  ///< --nvml PATH or MIGCTL_NVML: the NVML library to load.
  bool json = false;
};

/// Exit codes (README, docs/design.md): 0 done, 1 failed, 2 bad usage or bad input, 3 `assert` found a difference.
enum ExitCode { kExitOk = 0, kExitFailed = 1, kExitUsage = 2, kExitDifferent = 3 };

struct Context {
  GlobalOptions options;
  /// The words after the first `--` (a command for `migctl run`), kept away from the option parser.
  std::vector<std::string> trailing;
  /// The selected command, set while parsing; returns an exit code or an error.
  std::function<Result<int>()> action;

  /// Loads NVML once per command: the simulator (libmigsim.so beside the migctl binary, or MIGCTL_SIM_LIB)
  /// when
  /// --sim is given, else --nvml PATH, else libnvidia-ml.so.1.
  Result<nvml::Nvml*> OpenNvml();

  /// Where GPU changes keep their lock and journal: MIGCTL_RUN_DIR, else `STATE.migctl` beside a simulated
  /// machine, else /run/migctl (cleared at boot, as MIG instances are).
  std::string RunDir() const;
  /// Changes GPUs through the conductor (reconcile/conductor.h), the only way any command does: this host's
  /// run directory, a note on a terminal while the lock is busy, progress notes on stderr (journal notes
  /// always, per-GPU steps on a terminal), and a preflight that refuses to destroy a MIG device a `migctl
  /// run` task holds (launch/lease_guard.h) before the caller's own. `request.run_dir` and `lock_timeout` are filled in here.
  Result<ChangeReport> ChangeGpus(ChangeRequest request, ChangeCallbacks callbacks,
                                  double lock_timeout_s = 300) const;

  /// Human output goes to stdout; with --json the command prints one JSON document instead.
  void Print(const std::string& text) const;
  void PrintJson(const Json& doc) const;
  /// Ends a command that succeeded: prints `doc` under --json, else `text`; returns kExitOk.
  int Finish(const Json& doc, const std::string& text) const;

  /// The GPUs a `-i` selection names (all GPUs when `selection` is empty), in index order. Errors:
  /// kInvalidInput for a malformed selection, kNotFound for a GPU that does not exist (saying how many do).
  Result<std::vector<nvml::Device>> SelectDevices(const std::string& selection);
  /// Of those, the GPUs with MIG on now, each with its snapshot. kInvalidInput when none has MIG on, saying
  /// how to enable it; `what` starts the message (`reshape re-cuts MIG GPUs`).
  Result<std::vector<std::pair<nvml::Device, nvml::GpuSnapshot>>> SelectMigDevices(const std::string& selection,
                                                                                    const std::string& what);

  Context();
  ~Context();

 private:
  std::unique_ptr<nvml::Nvml> nvml_;
};

/// Parses a list of profile names or ids (`3g.40gb`, `MIG 3g.40gb`, `9`) for `model`. Unknown names are
/// kInvalidInput errors that list the model's profiles.
Result<std::vector<ProfileId>> ParseProfiles(const GpuModel& model, const std::vector<std::string>& names);

}  // namespace migctl
