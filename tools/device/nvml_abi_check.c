// ABI check of src/nvml/nvml_abi.h (our declarations) against NVIDIA's real nvml.h, run on the GPU machine by
// tools/device/abi_check.sh. Both headers are compiled into this one file: ours first, with every type and
// struct tag renamed to a `migctl_` name and every constant captured as `ours_<NAME>` and then #undef'd; the
// real header after it. At run time every struct's size and every field's offset and size, and every
// constant's value, are compared and each mismatch printed; each entry point's signature is checked at
// compile time (a failed _Static_assert names the function). Nothing is linked against libnvidia-ml: the
// check needs only the header.
//
// Selftest: abi_check.sh --selftest passes a copy of our own header as the "real" nvml.h, proving this file
// compiles and the comparison machinery works without NVIDIA's header.
#include <stddef.h>
#include <stdio.h>

// ---- Our declarations, renamed ----

#define nvmlReturn_t migctl_nvmlReturn_t
#define nvmlDevice_t migctl_nvmlDevice_t
#define nvmlGpuInstance_t migctl_nvmlGpuInstance_t
#define nvmlComputeInstance_t migctl_nvmlComputeInstance_t
#define nvmlDeviceArchitecture_t migctl_nvmlDeviceArchitecture_t
#define nvmlPciInfo_t migctl_nvmlPciInfo_t
#define nvmlMemory_t migctl_nvmlMemory_t
#define nvmlGpuInstancePlacement_t migctl_nvmlGpuInstancePlacement_t
#define nvmlGpuInstanceProfileInfo_t migctl_nvmlGpuInstanceProfileInfo_t
#define nvmlGpuInstanceProfileInfo_v2_t migctl_nvmlGpuInstanceProfileInfo_v2_t
#define nvmlGpuInstanceInfo_t migctl_nvmlGpuInstanceInfo_t
#define nvmlComputeInstancePlacement_t migctl_nvmlComputeInstancePlacement_t
#define nvmlComputeInstanceProfileInfo_t migctl_nvmlComputeInstanceProfileInfo_t
#define nvmlComputeInstanceProfileInfo_v2_t migctl_nvmlComputeInstanceProfileInfo_v2_t
#define nvmlComputeInstanceInfo_t migctl_nvmlComputeInstanceInfo_t
#define nvmlDeviceAttributes_t migctl_nvmlDeviceAttributes_t
#define nvmlProcessInfo_t migctl_nvmlProcessInfo_t
#define nvmlDevice_st migctl_nvmlDevice_st
#define nvmlGpuInstance_st migctl_nvmlGpuInstance_st
#define nvmlComputeInstance_st migctl_nvmlComputeInstance_st
#define nvmlPciInfo_st migctl_nvmlPciInfo_st
#define nvmlMemory_st migctl_nvmlMemory_st
#define nvmlGpuInstancePlacement_st migctl_nvmlGpuInstancePlacement_st
#define nvmlGpuInstanceProfileInfo_st migctl_nvmlGpuInstanceProfileInfo_st
#define nvmlGpuInstanceProfileInfo_v2_st migctl_nvmlGpuInstanceProfileInfo_v2_st
#define nvmlGpuInstanceInfo_st migctl_nvmlGpuInstanceInfo_st
#define nvmlComputeInstancePlacement_st migctl_nvmlComputeInstancePlacement_st
#define nvmlComputeInstanceProfileInfo_st migctl_nvmlComputeInstanceProfileInfo_st
#define nvmlComputeInstanceProfileInfo_v2_st migctl_nvmlComputeInstanceProfileInfo_v2_st
#define nvmlComputeInstanceInfo_st migctl_nvmlComputeInstanceInfo_st
#define nvmlDeviceAttributes_st migctl_nvmlDeviceAttributes_st
#define nvmlProcessInfo_st migctl_nvmlProcessInfo_st
#define nvmlGpmSample_t migctl_nvmlGpmSample_t
#define nvmlGpmSample_st migctl_nvmlGpmSample_st
#define nvmlGpmMetric_t migctl_nvmlGpmMetric_t
#define nvmlGpmMetricsGet_t migctl_nvmlGpmMetricsGet_t
#define nvmlGpmSupport_t migctl_nvmlGpmSupport_t
#include "nvml/nvml_abi.h"

#define RETURN_CODES(X)                   \
  X(NVML_SUCCESS)                         \
  X(NVML_ERROR_UNINITIALIZED)             \
  X(NVML_ERROR_INVALID_ARGUMENT)          \
  X(NVML_ERROR_NOT_SUPPORTED)             \
  X(NVML_ERROR_NO_PERMISSION)             \
  X(NVML_ERROR_ALREADY_INITIALIZED)       \
  X(NVML_ERROR_NOT_FOUND)                 \
  X(NVML_ERROR_INSUFFICIENT_SIZE)         \
  X(NVML_ERROR_INSUFFICIENT_POWER)        \
  X(NVML_ERROR_DRIVER_NOT_LOADED)         \
  X(NVML_ERROR_TIMEOUT)                   \
  X(NVML_ERROR_IRQ_ISSUE)                 \
  X(NVML_ERROR_LIBRARY_NOT_FOUND)         \
  X(NVML_ERROR_FUNCTION_NOT_FOUND)        \
  X(NVML_ERROR_CORRUPTED_INFOROM)         \
  X(NVML_ERROR_GPU_IS_LOST)               \
  X(NVML_ERROR_RESET_REQUIRED)            \
  X(NVML_ERROR_OPERATING_SYSTEM)          \
  X(NVML_ERROR_LIB_RM_VERSION_MISMATCH)   \
  X(NVML_ERROR_IN_USE)                    \
  X(NVML_ERROR_MEMORY)                    \
  X(NVML_ERROR_NO_DATA)                   \
  X(NVML_ERROR_VGPU_ECC_NOT_SUPPORTED)    \
  X(NVML_ERROR_INSUFFICIENT_RESOURCES)    \
  X(NVML_ERROR_FREQ_NOT_SUPPORTED)        \
  X(NVML_ERROR_ARGUMENT_VERSION_MISMATCH) \
  X(NVML_ERROR_DEPRECATED)                \
  X(NVML_ERROR_NOT_READY)                 \
  X(NVML_ERROR_GPU_NOT_FOUND)             \
  X(NVML_ERROR_INVALID_STATE)             \
  X(NVML_ERROR_UNKNOWN)

#define MIG_MODES(X)         \
  X(NVML_DEVICE_MIG_DISABLE) \
  X(NVML_DEVICE_MIG_ENABLE)

#define BUFFER_SIZES(X)                     \
  X(NVML_DEVICE_UUID_BUFFER_SIZE)           \
  X(NVML_DEVICE_UUID_V2_BUFFER_SIZE)        \
  X(NVML_DEVICE_NAME_BUFFER_SIZE)           \
  X(NVML_DEVICE_NAME_V2_BUFFER_SIZE)        \
  X(NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE)     \
  X(NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE)  \
  X(NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE) \
  X(NVML_SYSTEM_NVML_VERSION_BUFFER_SIZE)

#define GI_PROFILES(X)                        \
  X(NVML_GPU_INSTANCE_PROFILE_1_SLICE)        \
  X(NVML_GPU_INSTANCE_PROFILE_2_SLICE)        \
  X(NVML_GPU_INSTANCE_PROFILE_3_SLICE)        \
  X(NVML_GPU_INSTANCE_PROFILE_4_SLICE)        \
  X(NVML_GPU_INSTANCE_PROFILE_7_SLICE)        \
  X(NVML_GPU_INSTANCE_PROFILE_8_SLICE)        \
  X(NVML_GPU_INSTANCE_PROFILE_6_SLICE)        \
  X(NVML_GPU_INSTANCE_PROFILE_1_SLICE_REV1)   \
  X(NVML_GPU_INSTANCE_PROFILE_2_SLICE_REV1)   \
  X(NVML_GPU_INSTANCE_PROFILE_1_SLICE_REV2)   \
  X(NVML_GPU_INSTANCE_PROFILE_1_SLICE_GFX)    \
  X(NVML_GPU_INSTANCE_PROFILE_2_SLICE_GFX)    \
  X(NVML_GPU_INSTANCE_PROFILE_4_SLICE_GFX)    \
  X(NVML_GPU_INSTANCE_PROFILE_1_SLICE_NO_ME)  \
  X(NVML_GPU_INSTANCE_PROFILE_2_SLICE_NO_ME)  \
  X(NVML_GPU_INSTANCE_PROFILE_1_SLICE_ALL_ME) \
  X(NVML_GPU_INSTANCE_PROFILE_2_SLICE_ALL_ME)

#define CI_PROFILES(X)                          \
  X(NVML_COMPUTE_INSTANCE_PROFILE_1_SLICE)      \
  X(NVML_COMPUTE_INSTANCE_PROFILE_2_SLICE)      \
  X(NVML_COMPUTE_INSTANCE_PROFILE_3_SLICE)      \
  X(NVML_COMPUTE_INSTANCE_PROFILE_4_SLICE)      \
  X(NVML_COMPUTE_INSTANCE_PROFILE_7_SLICE)      \
  X(NVML_COMPUTE_INSTANCE_PROFILE_8_SLICE)      \
  X(NVML_COMPUTE_INSTANCE_PROFILE_6_SLICE)      \
  X(NVML_COMPUTE_INSTANCE_PROFILE_1_SLICE_REV1) \
  X(NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED)

#define ARCHITECTURES(X)     \
  X(NVML_DEVICE_ARCH_AMPERE) \
  X(NVML_DEVICE_ARCH_ADA)    \
  X(NVML_DEVICE_ARCH_HOPPER) \
  X(NVML_DEVICE_ARCH_BLACKWELL)

#define STRUCT_VERSIONS(X)         \
  X(nvmlGpuInstanceProfileInfo_v2) \
  X(nvmlComputeInstanceProfileInfo_v2)

#define GPM(X)                         \
  X(NVML_GPM_METRIC_GRAPHICS_UTIL)     \
  X(NVML_GPM_METRIC_SM_UTIL)           \
  X(NVML_GPM_METRIC_SM_OCCUPANCY)      \
  X(NVML_GPM_METRIC_DRAM_BW_UTIL)      \
  X(NVML_GPM_METRIC_MAX)               \
  X(NVML_GPM_METRICS_GET_VERSION)      \
  X(NVML_GPM_SUPPORT_VERSION)

#define MIGCTL_CAPTURE_(name) static const long long ours_##name = (long long)(name);
RETURN_CODES(MIGCTL_CAPTURE_)
MIG_MODES(MIGCTL_CAPTURE_)
BUFFER_SIZES(MIGCTL_CAPTURE_)
GI_PROFILES(MIGCTL_CAPTURE_)
CI_PROFILES(MIGCTL_CAPTURE_)
ARCHITECTURES(MIGCTL_CAPTURE_)
STRUCT_VERSIONS(MIGCTL_CAPTURE_)
GPM(MIGCTL_CAPTURE_)

#undef NVML_SUCCESS
#undef NVML_ERROR_UNINITIALIZED
#undef NVML_ERROR_INVALID_ARGUMENT
#undef NVML_ERROR_NOT_SUPPORTED
#undef NVML_ERROR_NO_PERMISSION
#undef NVML_ERROR_ALREADY_INITIALIZED
#undef NVML_ERROR_NOT_FOUND
#undef NVML_ERROR_INSUFFICIENT_SIZE
#undef NVML_ERROR_INSUFFICIENT_POWER
#undef NVML_ERROR_DRIVER_NOT_LOADED
#undef NVML_ERROR_TIMEOUT
#undef NVML_ERROR_IRQ_ISSUE
#undef NVML_ERROR_LIBRARY_NOT_FOUND
#undef NVML_ERROR_FUNCTION_NOT_FOUND
#undef NVML_ERROR_CORRUPTED_INFOROM
#undef NVML_ERROR_GPU_IS_LOST
#undef NVML_ERROR_RESET_REQUIRED
#undef NVML_ERROR_OPERATING_SYSTEM
#undef NVML_ERROR_LIB_RM_VERSION_MISMATCH
#undef NVML_ERROR_IN_USE
#undef NVML_ERROR_MEMORY
#undef NVML_ERROR_NO_DATA
#undef NVML_ERROR_VGPU_ECC_NOT_SUPPORTED
#undef NVML_ERROR_INSUFFICIENT_RESOURCES
#undef NVML_ERROR_FREQ_NOT_SUPPORTED
#undef NVML_ERROR_ARGUMENT_VERSION_MISMATCH
#undef NVML_ERROR_DEPRECATED
#undef NVML_ERROR_NOT_READY
#undef NVML_ERROR_GPU_NOT_FOUND
#undef NVML_ERROR_INVALID_STATE
#undef NVML_ERROR_UNKNOWN
#undef NVML_DEVICE_MIG_DISABLE
#undef NVML_DEVICE_MIG_ENABLE
#undef NVML_DEVICE_UUID_BUFFER_SIZE
#undef NVML_DEVICE_UUID_V2_BUFFER_SIZE
#undef NVML_DEVICE_NAME_BUFFER_SIZE
#undef NVML_DEVICE_NAME_V2_BUFFER_SIZE
#undef NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE
#undef NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE
#undef NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE
#undef NVML_SYSTEM_NVML_VERSION_BUFFER_SIZE
#undef NVML_GPU_INSTANCE_PROFILE_1_SLICE
#undef NVML_GPU_INSTANCE_PROFILE_2_SLICE
#undef NVML_GPU_INSTANCE_PROFILE_3_SLICE
#undef NVML_GPU_INSTANCE_PROFILE_4_SLICE
#undef NVML_GPU_INSTANCE_PROFILE_7_SLICE
#undef NVML_GPU_INSTANCE_PROFILE_8_SLICE
#undef NVML_GPU_INSTANCE_PROFILE_6_SLICE
#undef NVML_GPU_INSTANCE_PROFILE_1_SLICE_REV1
#undef NVML_GPU_INSTANCE_PROFILE_2_SLICE_REV1
#undef NVML_GPU_INSTANCE_PROFILE_1_SLICE_REV2
#undef NVML_GPU_INSTANCE_PROFILE_1_SLICE_GFX
#undef NVML_GPU_INSTANCE_PROFILE_2_SLICE_GFX
#undef NVML_GPU_INSTANCE_PROFILE_4_SLICE_GFX
#undef NVML_GPU_INSTANCE_PROFILE_1_SLICE_NO_ME
#undef NVML_GPU_INSTANCE_PROFILE_2_SLICE_NO_ME
#undef NVML_GPU_INSTANCE_PROFILE_1_SLICE_ALL_ME
#undef NVML_GPU_INSTANCE_PROFILE_2_SLICE_ALL_ME
#undef NVML_COMPUTE_INSTANCE_PROFILE_1_SLICE
#undef NVML_COMPUTE_INSTANCE_PROFILE_2_SLICE
#undef NVML_COMPUTE_INSTANCE_PROFILE_3_SLICE
#undef NVML_COMPUTE_INSTANCE_PROFILE_4_SLICE
#undef NVML_COMPUTE_INSTANCE_PROFILE_7_SLICE
#undef NVML_COMPUTE_INSTANCE_PROFILE_8_SLICE
#undef NVML_COMPUTE_INSTANCE_PROFILE_6_SLICE
#undef NVML_COMPUTE_INSTANCE_PROFILE_1_SLICE_REV1
#undef NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED
#undef NVML_DEVICE_ARCH_AMPERE
#undef NVML_DEVICE_ARCH_ADA
#undef NVML_DEVICE_ARCH_HOPPER
#undef NVML_DEVICE_ARCH_BLACKWELL
#undef nvmlGpuInstanceProfileInfo_v2
#undef nvmlComputeInstanceProfileInfo_v2
#undef NVML_GPM_METRIC_GRAPHICS_UTIL
#undef NVML_GPM_METRIC_SM_UTIL
#undef NVML_GPM_METRIC_SM_OCCUPANCY
#undef NVML_GPM_METRIC_DRAM_BW_UTIL
#undef NVML_GPM_METRIC_MAX
#undef NVML_GPM_METRICS_GET_VERSION
#undef NVML_GPM_SUPPORT_VERSION
#undef NVML_STRUCT_VERSION
#undef nvmlReturn_t
#undef nvmlDevice_t
#undef nvmlGpuInstance_t
#undef nvmlComputeInstance_t
#undef nvmlDeviceArchitecture_t
#undef nvmlPciInfo_t
#undef nvmlMemory_t
#undef nvmlGpuInstancePlacement_t
#undef nvmlGpuInstanceProfileInfo_t
#undef nvmlGpuInstanceProfileInfo_v2_t
#undef nvmlGpuInstanceInfo_t
#undef nvmlComputeInstancePlacement_t
#undef nvmlComputeInstanceProfileInfo_t
#undef nvmlComputeInstanceProfileInfo_v2_t
#undef nvmlComputeInstanceInfo_t
#undef nvmlDeviceAttributes_t
#undef nvmlProcessInfo_t
#undef nvmlDevice_st
#undef nvmlGpuInstance_st
#undef nvmlComputeInstance_st
#undef nvmlPciInfo_st
#undef nvmlMemory_st
#undef nvmlGpuInstancePlacement_st
#undef nvmlGpuInstanceProfileInfo_st
#undef nvmlGpuInstanceProfileInfo_v2_st
#undef nvmlGpuInstanceInfo_st
#undef nvmlComputeInstancePlacement_st
#undef nvmlComputeInstanceProfileInfo_st
#undef nvmlComputeInstanceProfileInfo_v2_st
#undef nvmlComputeInstanceInfo_st
#undef nvmlDeviceAttributes_st
#undef nvmlProcessInfo_st
#undef nvmlGpmSample_t
#undef nvmlGpmSample_st
#undef nvmlGpmMetric_t
#undef nvmlGpmMetricsGet_t
#undef nvmlGpmSupport_t

// ---- NVIDIA's declarations ----

#include <nvml.h>

#ifdef MIGCTL_ABI_SELFTEST
// The stand-in (our own header) has no prototypes; declare them from the same list so the signature check
// compiles.
#define MIGCTL_DECLARE_(name, ret, params) ret name params;
MIGCTL_NVML_FUNCTIONS(MIGCTL_DECLARE_)
#endif

// ---- Comparison ----

static int g_checked = 0;
static int g_mismatched = 0;

static void Compare(const char* what, long long ours, long long real) {
  ++g_checked;
  if (ours == real) return;
  ++g_mismatched;
  printf("  MISMATCH %s: ours %lld, nvml.h %lld\n", what, ours, real);
}

static void Summary(const char* group, int checked_before, int mismatched_before) {
  printf("%-36s %3d checked, %d mismatched\n", group, g_checked - checked_before,
         g_mismatched - mismatched_before);
}

#define MIGCTL_COMPARE_CONSTANT_(name) Compare(#name, ours_##name, (long long)(name));

#define MIGCTL_CHECK_CONSTANTS_(group, list)                            \
  do {                                                                  \
    int checked = g_checked;                                            \
    int mismatched = g_mismatched;                                      \
    list(MIGCTL_COMPARE_CONSTANT_) Summary(group, checked, mismatched); \
  } while (0)

/// Fields of every struct we declare, as X(type, field).
#define FIELDS_nvmlPciInfo_t(X, T) \
  X(T, busIdLegacy) X(T, domain) X(T, bus) X(T, device) X(T, pciDeviceId) X(T, pciSubSystemId) X(T, busId)
#define FIELDS_nvmlMemory_t(X, T) X(T, total) X(T, free) X(T, used)
#define FIELDS_nvmlGpuInstancePlacement_t(X, T) X(T, start) X(T, size)
#define FIELDS_nvmlGpuInstanceProfileInfo_t(X, T)                                                         \
  X(T, id)                                                                                                \
  X(T, isP2pSupported)                                                                                    \
  X(T, sliceCount) X(T, instanceCount) X(T, multiprocessorCount) X(T, copyEngineCount) X(T, decoderCount) \
      X(T, encoderCount) X(T, jpegCount) X(T, ofaCount) X(T, memorySizeMB)
#define FIELDS_nvmlGpuInstanceProfileInfo_v2_t(X, T) \
  X(T, version) FIELDS_nvmlGpuInstanceProfileInfo_t(X, T) X(T, name)
#define FIELDS_nvmlGpuInstanceInfo_t(X, T) X(T, device) X(T, id) X(T, profileId) X(T, placement)
#define FIELDS_nvmlComputeInstancePlacement_t(X, T) X(T, start) X(T, size)
#define FIELDS_nvmlComputeInstanceProfileInfo_t(X, T)                                                \
  X(T, id)                                                                                           \
  X(T, sliceCount)                                                                                   \
  X(T, instanceCount) X(T, multiprocessorCount) X(T, sharedCopyEngineCount) X(T, sharedDecoderCount) \
      X(T, sharedEncoderCount) X(T, sharedJpegCount) X(T, sharedOfaCount)
#define FIELDS_nvmlComputeInstanceProfileInfo_v2_t(X, T) \
  X(T, version) FIELDS_nvmlComputeInstanceProfileInfo_t(X, T) X(T, name)
#define FIELDS_nvmlComputeInstanceInfo_t(X, T) \
  X(T, device) X(T, gpuInstance) X(T, id) X(T, profileId) X(T, placement)
#define FIELDS_nvmlDeviceAttributes_t(X, T)                                                    \
  X(T, multiprocessorCount)                                                                    \
  X(T, sharedCopyEngineCount)                                                                  \
  X(T, sharedDecoderCount) X(T, sharedEncoderCount) X(T, sharedJpegCount) X(T, sharedOfaCount) \
      X(T, gpuInstanceSliceCount) X(T, computeInstanceSliceCount) X(T, memorySizeMB)
#define FIELDS_nvmlProcessInfo_t(X, T) \
  X(T, pid) X(T, usedGpuMemory) X(T, gpuInstanceId) X(T, computeInstanceId)
#define FIELDS_nvmlGpmMetric_t(X, T) X(T, metricId) X(T, nvmlReturn) X(T, value) X(T, metricInfo)
#define FIELDS_nvmlGpmMetricsGet_t(X, T) X(T, version) X(T, numMetrics) X(T, sample1) X(T, sample2) X(T, metrics)
#define FIELDS_nvmlGpmSupport_t(X, T) X(T, version) X(T, isSupportedDevice)

#define MIGCTL_COMPARE_FIELD_(T, field)                                                                    \
  Compare(#T "." #field " offset", (long long)offsetof(migctl_##T, field), (long long)offsetof(T, field)); \
  Compare(#T "." #field " size", (long long)sizeof(((migctl_##T*)0)->field),                               \
          (long long)sizeof(((T*)0)->field));

#define MIGCTL_CHECK_STRUCT_(T)                                                        \
  do {                                                                                 \
    int checked = g_checked;                                                           \
    int mismatched = g_mismatched;                                                     \
    Compare(#T " size", (long long)sizeof(migctl_##T), (long long)sizeof(T));          \
    Compare(#T " alignment", (long long)_Alignof(migctl_##T), (long long)_Alignof(T)); \
    FIELDS_##T(MIGCTL_COMPARE_FIELD_, T) Summary(#T, checked, mismatched);             \
  } while (0)

#define MIGCTL_CHECK_SCALAR_(T)                                               \
  do {                                                                        \
    int checked = g_checked;                                                  \
    int mismatched = g_mismatched;                                            \
    Compare(#T " size", (long long)sizeof(migctl_##T), (long long)sizeof(T)); \
    Summary(#T, checked, mismatched);                                         \
  } while (0)

// Compile-time: every entry point we resolve has, in nvml.h, exactly the signature we declare.
#define MIGCTL_CHECK_SIGNATURE_(name, ret, params)                               \
  _Static_assert(__builtin_types_compatible_p(__typeof__(&name), ret(*) params), \
                 "nvml.h declares " #name " with another signature than nvml_abi.h");
MIGCTL_NVML_FUNCTIONS(MIGCTL_CHECK_SIGNATURE_)
#define MIGCTL_COUNT_(name, ret, params) +1
enum { kSignatureCount = 0 MIGCTL_NVML_FUNCTIONS(MIGCTL_COUNT_) };

int main(void) {
  MIGCTL_CHECK_SCALAR_(nvmlReturn_t);
  MIGCTL_CHECK_SCALAR_(nvmlDeviceArchitecture_t);
  MIGCTL_CHECK_SCALAR_(nvmlDevice_t);
  MIGCTL_CHECK_SCALAR_(nvmlGpuInstance_t);
  MIGCTL_CHECK_SCALAR_(nvmlComputeInstance_t);
  MIGCTL_CHECK_STRUCT_(nvmlPciInfo_t);
  MIGCTL_CHECK_STRUCT_(nvmlMemory_t);
  MIGCTL_CHECK_STRUCT_(nvmlGpuInstancePlacement_t);
  MIGCTL_CHECK_STRUCT_(nvmlGpuInstanceProfileInfo_t);
  MIGCTL_CHECK_STRUCT_(nvmlGpuInstanceProfileInfo_v2_t);
  MIGCTL_CHECK_STRUCT_(nvmlGpuInstanceInfo_t);
  MIGCTL_CHECK_STRUCT_(nvmlComputeInstancePlacement_t);
  MIGCTL_CHECK_STRUCT_(nvmlComputeInstanceProfileInfo_t);
  MIGCTL_CHECK_STRUCT_(nvmlComputeInstanceProfileInfo_v2_t);
  MIGCTL_CHECK_STRUCT_(nvmlComputeInstanceInfo_t);
  MIGCTL_CHECK_STRUCT_(nvmlDeviceAttributes_t);
  MIGCTL_CHECK_STRUCT_(nvmlProcessInfo_t);
  MIGCTL_CHECK_SCALAR_(nvmlGpmSample_t);
  MIGCTL_CHECK_STRUCT_(nvmlGpmMetric_t);
  MIGCTL_CHECK_STRUCT_(nvmlGpmMetricsGet_t);
  MIGCTL_CHECK_STRUCT_(nvmlGpmSupport_t);
  MIGCTL_CHECK_CONSTANTS_("return codes", RETURN_CODES);
  MIGCTL_CHECK_CONSTANTS_("MIG mode", MIG_MODES);
  MIGCTL_CHECK_CONSTANTS_("buffer sizes", BUFFER_SIZES);
  MIGCTL_CHECK_CONSTANTS_("GI profile indexes", GI_PROFILES);
  MIGCTL_CHECK_CONSTANTS_("CI profile indexes", CI_PROFILES);
  MIGCTL_CHECK_CONSTANTS_("architectures", ARCHITECTURES);
  MIGCTL_CHECK_CONSTANTS_("struct versions", STRUCT_VERSIONS);
  MIGCTL_CHECK_CONSTANTS_("GPM", GPM);
  printf("%d entry-point signatures checked at compile time\n", (int)kSignatureCount);
  if (g_mismatched != 0) {
    printf("ABI MISMATCH: %d of %d checks differ\n", g_mismatched, g_checked);
    return 1;
  }
  printf("ABI OK (%d checks)\n", g_checked);
  return 0;
}
