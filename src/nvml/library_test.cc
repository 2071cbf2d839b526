#include "nvml/library.h"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include "nvml/device.h"

namespace migctl::nvml {
namespace {

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class OldDriver : public testing::Test {
 protected:
  void TearDown() override { unsetenv("FAKE_NVML_INIT_RC"); }
};

TEST(NvmlLibrary, MissingLibrarySaysWhatToDo) {
  auto library = NvmlLibrary::Open("/nonexistent/libnvidia-ml.so.1");
  ASSERT_FALSE(library.ok());
  EXPECT_EQ(library.error().code, ErrorCode::kNotFound);
  const std::string& message = library.error().message;
  EXPECT_TRUE(Contains(message, "/nonexistent/libnvidia-ml.so.1")) << message;
  EXPECT_TRUE(Contains(message, "install the NVIDIA driver")) << message;
  EXPECT_TRUE(Contains(message, "--nvml PATH")) << message;
  EXPECT_TRUE(Contains(message, "--sim STATE")) << message;
}

TEST(NvmlLibrary, LibraryWithoutInitIsRejected) {
  auto library = NvmlLibrary::Open("libm.so.6");
  ASSERT_FALSE(library.ok());
  EXPECT_EQ(library.error().code, ErrorCode::kUnsupported);
  EXPECT_TRUE(Contains(library.error().message, "not an NVML library")) << library.error().message;
}

TEST_F(OldDriver, FallsBackToUnversionedEntryPoints) {
  auto library = NvmlLibrary::Open(FAKE_NVML_OLD);
  ASSERT_TRUE(library.ok()) << library.error().message;
  const NvmlFunctions& fn = (*library)->fn();
  EXPECT_NE(fn.nvmlInit_v2, nullptr);
  EXPECT_NE(fn.nvmlDeviceGetCount_v2, nullptr);
  EXPECT_NE(fn.nvmlDeviceGetHandleByIndex_v2, nullptr);
  EXPECT_EQ(fn.nvmlDeviceGetMigMode, nullptr);
  EXPECT_EQ(fn.migsimDeviceReset, nullptr);

  Nvml nvml(std::move(*library));
  auto count = nvml.Count();
  ASSERT_TRUE(count.ok()) << count.error().message;
  EXPECT_EQ(*count, 2u);
  auto device = nvml.Device(GpuIndex(1));
  ASSERT_TRUE(device.ok()) << device.error().message;
  auto name = device->Name();
  ASSERT_TRUE(name.ok()) << name.error().message;
  EXPECT_EQ(*name, "Old GPU 1");
}

TEST_F(OldDriver, MissingMigFunctionIsUnsupportedAndNamed) {
  auto nvml = Nvml::Open(FAKE_NVML_OLD);
  ASSERT_TRUE(nvml.ok()) << nvml.error().message;
  auto device = nvml->Device(GpuIndex(0));
  ASSERT_TRUE(device.ok()) << device.error().message;

  auto mode = device->GetMigMode();
  ASSERT_FALSE(mode.ok());
  EXPECT_EQ(mode.error().code, ErrorCode::kUnsupported);
  EXPECT_TRUE(Contains(mode.error().message, "nvmlDeviceGetMigMode")) << mode.error().message;
  EXPECT_TRUE(Contains(mode.error().message, "driver is too old")) << mode.error().message;
  EXPECT_EQ(mode.error().nvml_return, 0);

  auto profiles = device->GiProfiles();
  ASSERT_FALSE(profiles.ok());
  EXPECT_EQ(profiles.error().code, ErrorCode::kUnsupported);

  auto reset = device->Reset();
  ASSERT_FALSE(reset.ok());
  EXPECT_EQ(reset.error().code, ErrorCode::kUnsupported);
}

TEST_F(OldDriver, UnknownIndexIsNotFound) {
  auto nvml = Nvml::Open(FAKE_NVML_OLD);
  ASSERT_TRUE(nvml.ok()) << nvml.error().message;
  auto device = nvml->Device(GpuIndex(7));
  ASSERT_FALSE(device.ok());
  EXPECT_EQ(device.error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(Contains(device.error().message, "no GPU with index 7")) << device.error().message;
}

TEST_F(OldDriver, InitFailureKeepsDriverTextAndRawCode) {
  setenv("FAKE_NVML_INIT_RC", "9", 1);  // NVML_ERROR_DRIVER_NOT_LOADED
  auto library = NvmlLibrary::Open(FAKE_NVML_OLD);
  ASSERT_FALSE(library.ok());
  EXPECT_EQ(library.error().nvml_return, NVML_ERROR_DRIVER_NOT_LOADED);
  EXPECT_EQ(library.error().code, ErrorCode::kNvml);
  const std::string& message = library.error().message;
  EXPECT_TRUE(Contains(message, "cannot initialize NVML")) << message;
  EXPECT_TRUE(Contains(message, "Driver Not Loaded (fake)")) << message;
  EXPECT_TRUE(Contains(message, "NVML error 9")) << message;
}

TEST_F(OldDriver, ShutdownRunsOnCloseOnlyAfterSuccessfulInit) {
  void* self = dlopen(FAKE_NVML_OLD, RTLD_NOW);
  ASSERT_NE(self, nullptr);
  int* shutdowns = static_cast<int*>(dlsym(self, "fakeNvmlShutdownCalls"));
  ASSERT_NE(shutdowns, nullptr);
  const int before = *shutdowns;
  { ASSERT_TRUE(NvmlLibrary::Open(FAKE_NVML_OLD).ok()); }
  EXPECT_EQ(*shutdowns, before + 1);
  setenv("FAKE_NVML_INIT_RC", "9", 1);
  { ASSERT_FALSE(NvmlLibrary::Open(FAKE_NVML_OLD).ok()); }
  EXPECT_EQ(*shutdowns, before + 1);
  dlclose(self);
}

}  // namespace
}  // namespace migctl::nvml
