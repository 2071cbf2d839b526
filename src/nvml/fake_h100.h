// Test helper: an Nvml session on testdata/fake_nvml_h100.c with its toggles set for one test.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include "nvml/device.h"

namespace migctl::nvml {

class FakeH100 : public testing::Test {
 protected:
  void TearDown() override {
    unsetenv("FAKE_NVML_MIG");
    unsetenv("FAKE_NVML_NO_V");
  }

  /// Opens the fake with MIG on or off (and the V profile call failing when `without_v`); fails the test on
  /// error.
  Device Open(bool mig, bool without_v = false) {
    setenv("FAKE_NVML_MIG", mig ? "1" : "0", 1);
    setenv("FAKE_NVML_NO_V", without_v ? "1" : "0", 1);
    auto nvml = Nvml::Open(FAKE_NVML_H100);
    EXPECT_TRUE(nvml.ok()) << nvml.error().message;
    nvml_ = std::make_unique<Nvml>(std::move(*nvml));
    auto device = nvml_->Device(GpuIndex(0));
    EXPECT_TRUE(device.ok()) << device.error().message;
    return *device;
  }

  std::unique_ptr<Nvml> nvml_;
};

}  // namespace migctl::nvml
