#include "cli/context.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>

#include <fmt/format.h>

#include "catalog/catalog.h"
#include "cli/diagnostics.h"
#include "integrations/k8s_refresh.h"
#include "reconcile/change_counters.h"
#include "common/gpu_selector.h"
#include "launch/lease.h"
#include "launch/lease_guard.h"
#include "nvml/device.h"
#include "sim/machine.h"

namespace migctl {
namespace {

/// libmigsim.so is installed beside the migctl binary (build tree) or in ../lib (install tree).
std::string SimulatorLibraryPath() {
  if (const char* env = getenv("MIGCTL_SIM_LIB"); env != nullptr && *env != '\0') return env;
  std::error_code ec;
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (auto candidate : {exe.parent_path() / "libmigsim.so", exe.parent_path() / "../lib/libmigsim.so",
                           exe.parent_path() / "../src/sim/libmigsim.so"}) {
      if (std::filesystem::exists(candidate, ec)) return candidate.lexically_normal().string();
    }
  }
  return "libmigsim.so";
}

}  // namespace

Context::Context() = default;
Context::~Context() = default;

Result<nvml::Nvml*> Context::OpenNvml() {
  if (nvml_) return nvml_.get();
  std::string library = options.nvml.empty() ? "libnvidia-ml.so.1" : options.nvml;
  if (!options.sim.empty()) {
    struct stat st {};
    if (stat(options.sim.c_str(), &st) != 0)
      return MakeError(
          ErrorCode::kNotFound,
          fmt::format("no simulated machine at {}: create one with 'migctl sim init {} MODEL[:COUNT]'",
                      options.sim, options.sim));
    // Check the machine here, so a bad file is reported as such rather than as NVML failing to load.
    if (Result<sim::MachineState> machine = sim::LoadMachine(options.sim); !machine.ok())
      return machine.error().WithContext(fmt::format("simulated machine {}: ", options.sim));
    setenv("MIGSIM_STATE", options.sim.c_str(), 1);
    library = SimulatorLibraryPath();
  }
  MIGCTL_ASSIGN_OR_RETURN(nvml::Nvml opened, nvml::Nvml::Open(library));
  nvml_ = std::make_unique<nvml::Nvml>(std::move(opened));
  return nvml_.get();
}

Result<std::vector<std::pair<nvml::Device, nvml::GpuSnapshot>>> Context::SelectMigDevices(
    const std::string& selection, const std::string& what) {
  MIGCTL_ASSIGN_OR_RETURN(std::vector<nvml::Device> devices, SelectDevices(selection));
  std::vector<std::pair<nvml::Device, nvml::GpuSnapshot>> on;
  for (const nvml::Device& d : devices) {
    MIGCTL_ASSIGN_OR_RETURN(nvml::GpuSnapshot s, nvml::ObserveGpu(d));
    if (s.mig && s.mig->current) on.emplace_back(d, std::move(s));
  }
  if (on.empty())
    return MakeError(ErrorCode::kInvalidInput,
                     fmt::format("no selected GPU has MIG on: {}; enable MIG first (`migctl mode enable -i N`)", what));
  return on;
}

Result<std::vector<nvml::Device>> Context::SelectDevices(const std::string& selection) {
  MIGCTL_ASSIGN_OR_RETURN(GpuSelector selector, selection.empty() ? Result<GpuSelector>(GpuSelector::All())
                                                                  : GpuSelector::Parse(selection));
  MIGCTL_ASSIGN_OR_RETURN(nvml::Nvml * nvml, OpenNvml());
  MIGCTL_ASSIGN_OR_RETURN(std::vector<nvml::Device> devices, nvml->Devices());
  std::vector<GpuIndex> chosen;
  if (selector.selects_all()) {
    for (const auto& d : devices) chosen.push_back(d.index());
  } else {
    std::vector<GpuIdentity> identities;
    for (const nvml::Device& d : devices) {
      GpuIdentity id{d.index(), GpuUuid(""), ""};
      if (auto uuid = d.Uuid(); uuid.ok()) id.uuid = *uuid;
      if (auto pci = d.Pci(); pci.ok()) id.pci_bus_id = pci->bus_id;
      identities.push_back(std::move(id));
    }
    MIGCTL_ASSIGN_OR_RETURN(chosen, selector.Resolve(identities));
  }
  std::vector<nvml::Device> out;
  for (GpuIndex i : chosen) out.push_back(devices[i.value()]);
  return out;
}

std::string Context::RunDir() const {
  if (const char* env = getenv("MIGCTL_RUN_DIR"); env != nullptr && *env != '\0') return env;
  return options.sim.empty() ? "/run/migctl" : options.sim + ".migctl";
}

Result<ChangeReport> Context::ChangeGpus(ChangeRequest request, ChangeCallbacks callbacks,
                                         double lock_timeout_s) const {
  request.run_dir = RunDir();
  request.lock_timeout = std::chrono::milliseconds(static_cast<long long>(lock_timeout_s * 1000));
  const bool tty = !options.json && ::isatty(2);
  if (!callbacks.lock_wait)
    callbacks.lock_wait = [tty](int pid) {
      if (!tty) return;  // a note for people; scripts get the outcome
      PrintNote(fmt::format("waiting for another migctl{} to finish changing GPUs",
                            pid > 0 ? fmt::format(" (pid {})", pid) : ""));
    };
  if (!callbacks.progress)
    callbacks.progress = [tty](const std::string& line) {
      if (tty) PrintNote(line);
    };
  if (!callbacks.notice) callbacks.notice = [](const std::string& line) { PrintNote(line); };
  // Whatever the command, no slice a `migctl run` task holds goes away (launch/lease_guard.h).
  callbacks.preflight = [leases = LeaseTable(DefaultLeaseDir(!options.sim.empty(), RunDir())),
                         own = std::move(callbacks.preflight)](const std::vector<GpuOutcome>& plans) -> Status {
    MIGCTL_RETURN_IF_ERROR(CheckNoLeasedDeviceGoes(plans, leases));
    return own ? own(plans) : Ok();
  };
  const bool dry_run = request.dry_run;
  const std::string command = CommandOf(request.command);
  const auto started = std::chrono::steady_clock::now();
  Result<ChangeReport> report = migctl::ChangeGpus(request, callbacks);
  if (!dry_run && !command.empty()) {  // for the exporter's counters; the change's outcome does not depend on it
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    // A failed change already said why (often the run directory itself): only a successful one adds a note.
    if (Status counted = RecordChange(request.run_dir, command, report.ok(), seconds, std::time(nullptr));
        !counted.ok() && report.ok())
      PrintNote("the change was not counted: " + counted.error().message);
  }
  // The Kubernetes files follow every change (integrations/k8s_refresh.h); the change stands if they cannot.
  if (report.ok() && !dry_run && report->changed() && nvml_) {
    if (const K8sRefresh refresh = K8sRefresh::FromEnvironment(); refresh.any()) {
      Result<std::vector<std::string>> done = RefreshK8s(refresh, *nvml_);
      if (!done.ok()) {
        PrintNote("k8s: the files were not refreshed: " + done.error().message);
      } else {
        for (const std::string& line : *done) PrintNote(line);
      }
    }
  }
  return report;
}

void Context::Print(const std::string& text) const { std::fwrite(text.data(), 1, text.size(), stdout); }

void Context::PrintJson(const Json& doc) const { Print(doc.dump(2) + "\n"); }

int Context::Finish(const Json& doc, const std::string& text) const {
  if (options.json) {
    PrintJson(doc);
  } else {
    Print(text);
  }
  return kExitOk;
}

Result<std::vector<ProfileId>> ParseProfiles(const GpuModel& model, const std::vector<std::string>& names) {
  std::vector<ProfileId> out;
  for (const std::string& name : names) {
    const GiProfile* p = model.FindProfile(name);
    if (p == nullptr) {
      std::string known;
      for (const GiProfile& g : model.gi_profiles) known += (known.empty() ? "" : ", ") + g.name;
      return MakeError(ErrorCode::kInvalidInput,
                       fmt::format("unknown profile '{}' for {}: use one of {}", name,
                                   model.key.empty() ? model.product_name : model.key, known));
    }
    out.push_back(p->id);
  }
  return out;
}

}  // namespace migctl
