// Test-only: one GPU of a simulated machine (libmigsim.so over a fresh state file), opened through our NVML
// facade, for the tests of the code that changes GPUs. Outcomes are read back from the state file, not
// through the library under test.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "catalog/catalog.h"
#include "nvml/device.h"
#include "reconcile/observed_gpu.h"
#include "sim/machine.h"
#include "sim/test_support.h"

namespace migctl::testing_sim {

class SimulatedGpu : public ::testing::Test {
 protected:
  void TearDown() override {
    unsetenv("MIGSIM_STATE");
    unsetenv("MIGSIM_FAULTS");
  }

  /// A machine of one `model` GPU with MIG `mig_on` (current and pending), opened with MIGSIM_FAULTS
  /// `faults`.
  void Start(const std::string& model, bool mig_on = true, const std::string& faults = "") {
    state_ = dir_.File("machine.json");
    Result<sim::MachineState> machine = sim::InitMachine(state_, model, /*force=*/true, /*seed=*/7);
    ASSERT_TRUE(machine.ok()) << machine.error().message;
    machine->gpus[0].mig_current = machine->gpus[0].mig_pending = mig_on ? 1 : 0;
    std::ofstream(state_, std::ios::trunc) << sim::MachineStateToJson(*machine).dump();
    Open(faults);
  }

  /// Opens the machine through a private copy of libmigsim.so with MIGSIM_FAULTS `faults`: the simulator
  /// reads its faults, and counts the calls they name, once per loaded copy. Devices from an earlier Open are
  /// invalid.
  void Open(const std::string& faults) {
    device_.reset();
    nvml_.reset();
    setenv("MIGSIM_STATE", state_.c_str(), 1);
    setenv("MIGSIM_FAULTS", faults.c_str(), 1);
    const std::string copy =
        dir_.File("libmigsim-" + std::to_string(::getpid()) + "-" + std::to_string(copies_++) + ".so");
    std::filesystem::copy_file(MIGSIM_LIBRARY, copy);
    Result<nvml::Nvml> nvml = nvml::Nvml::Open(copy);
    ASSERT_TRUE(nvml.ok()) << nvml.error().message;
    nvml_.emplace(std::move(*nvml));
    Result<nvml::Device> device = nvml_->Device(GpuIndex(0));
    ASSERT_TRUE(device.ok()) << device.error().message;
    device_.emplace(*device);
  }

  const nvml::Device& device() const { return *device_; }

  /// The GPU as planning observes it through the library; fails the test on error.
  ObservedGpu Observe() const {
    Result<ObservedGpu> gpu = ObserveForPlanning(device());
    EXPECT_TRUE(gpu.ok()) << gpu.error().message;
    return gpu.ok() ? *gpu : ObservedGpu{};
  }

  /// The GPU as the state file holds it now.
  sim::SimGpu Gpu() const {
    Result<sim::MachineState> machine = sim::LoadMachine(state_);
    EXPECT_TRUE(machine.ok()) << machine.error().message;
    return machine.ok() ? machine->gpus[0] : sim::SimGpu{};
  }

  /// The GPU's instances as the state file holds them, sorted, one per GI: `3g.40gb@4 ci 3g.40gb@0` (a CI's
  /// profile and start inside its GI; a GI without CIs is just `3g.40gb@4`).
  std::vector<std::string> Instances() const {
    const sim::SimGpu gpu = Gpu();
    const GpuModel& model = Model(gpu.model);
    std::vector<std::string> out;
    for (const sim::SimGpuInstance& gi : gpu.gpu_instances) {
      const GiProfile* profile = model.FindProfile(ProfileId(gi.profile_id));
      std::string text =
          (profile ? profile->name : std::to_string(gi.profile_id)) + "@" + std::to_string(gi.start);
      for (const sim::SimComputeInstance& ci : gi.compute_instances) {
        std::string name = std::to_string(ci.profile_id);
        if (profile)
          for (const CiProfile& p : profile->ci_profiles)
            if (p.id.value() == ci.profile_id) name = p.name;
        text += " ci " + name + "@" + std::to_string(ci.start);
      }
      out.push_back(text);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  /// The GPU's GI profile `name`; fails the test when the model lacks it.
  const GiProfile& Profile(const std::string& name) const {
    const GpuModel& model = Model(Gpu().model);
    const GiProfile* profile = model.FindProfile(name);
    EXPECT_NE(profile, nullptr) << name;
    return profile ? *profile : model.gi_profiles.front();
  }

  /// Attaches a fake process `train.py` to the whole GPU, a GI or one of its CIs; returns its pid.
  unsigned Attach(std::optional<GiId> gi = std::nullopt, std::optional<CiId> ci = std::nullopt) {
    Result<unsigned> pid = sim::AttachProcess(state_, {GpuIndex(0), gi, ci}, 0, "train.py", 100);
    EXPECT_TRUE(pid.ok()) << pid.error().message;
    return pid.ok() ? *pid : 0;
  }

  static const GpuModel& Model(const std::string& key) { return sim::testing::Model(key); }

  sim::testing::TempDir dir_;
  std::string state_;

 private:
  int copies_ = 0;
  std::optional<nvml::Nvml> nvml_;
  std::optional<nvml::Device> device_;
};

}  // namespace migctl::testing_sim
