#include "nvml/nvml_error.h"

#include <gtest/gtest.h>

namespace migctl::nvml {
namespace {

TEST(NvmlError, MapsMigOutcomesToErrorCodes) {
  EXPECT_EQ(NvmlError(NVML_ERROR_INSUFFICIENT_RESOURCES, "x").code, ErrorCode::kInfeasible);
  EXPECT_EQ(NvmlError(NVML_ERROR_IN_USE, "x").code, ErrorCode::kBusy);
  EXPECT_EQ(NvmlError(NVML_ERROR_NOT_SUPPORTED, "x").code, ErrorCode::kUnsupported);
  EXPECT_EQ(NvmlError(NVML_ERROR_NOT_FOUND, "x").code, ErrorCode::kNotFound);
  EXPECT_EQ(NvmlError(NVML_ERROR_GPU_NOT_FOUND, "x").code, ErrorCode::kNotFound);
  EXPECT_EQ(NvmlError(NVML_ERROR_INVALID_ARGUMENT, "x").code, ErrorCode::kInvalidInput);
  EXPECT_EQ(NvmlError(NVML_ERROR_NO_PERMISSION, "x").code, ErrorCode::kUnsupported);
  EXPECT_EQ(NvmlError(NVML_ERROR_DRIVER_NOT_LOADED, "x").code, ErrorCode::kNvml);
  EXPECT_EQ(NvmlError(NVML_ERROR_UNKNOWN, "x").code, ErrorCode::kNvml);
}

TEST(NvmlError, MessageUsesNvidiaSmiStringsAndKeepsRawCode) {
  Error error = NvmlError(NVML_ERROR_INSUFFICIENT_RESOURCES, "GPU 0: creating a GI of profile 9");
  EXPECT_EQ(error.message, "GPU 0: creating a GI of profile 9: Insufficient Resources");
  EXPECT_EQ(error.nvml_return, NVML_ERROR_INSUFFICIENT_RESOURCES);
  EXPECT_EQ(NvmlError(NVML_ERROR_IN_USE, "destroy").message, "destroy: In use by another client");
  EXPECT_EQ(NvmlError(NVML_ERROR_NOT_SUPPORTED, "mode").message, "mode: Not Supported");
}

TEST(NvmlError, NoPermissionSaysHowToGetIt) {
  Error error = NvmlError(NVML_ERROR_NO_PERMISSION, "create");
  EXPECT_NE(error.message.find("run as root or grant the mig/config capability"), std::string::npos);
  EXPECT_EQ(error.nvml_return, NVML_ERROR_NO_PERMISSION);
}

TEST(ReturnString, UnknownCodeIsUnknownError) {
  EXPECT_STREQ(ReturnString(12345), "Unknown Error");
  EXPECT_STREQ(ReturnString(NVML_ERROR_RESET_REQUIRED), "GPU requires reset");
}

}  // namespace
}  // namespace migctl::nvml
