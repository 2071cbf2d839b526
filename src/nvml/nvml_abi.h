// Our own declarations of the subset of NVML's C ABI that migctl uses and libmigsim.so implements.
//
// Written from NVML 13.x's documented structs, constants and return codes, not copied from
// nvml.h. tools/device/nvml_abi_check.c compiles these against the real nvml.h on the GPU machine and checks
// every struct's size and field offsets and every constant's value. Only types and constants live here;
// function pointer types are declared so the loader (nvml/library.h) can resolve symbols by name.
#pragma once

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef int nvmlReturn_t;

#define NVML_SUCCESS 0
#define NVML_ERROR_UNINITIALIZED 1
#define NVML_ERROR_INVALID_ARGUMENT 2
#define NVML_ERROR_NOT_SUPPORTED 3
#define NVML_ERROR_NO_PERMISSION 4
#define NVML_ERROR_ALREADY_INITIALIZED 5
#define NVML_ERROR_NOT_FOUND 6
#define NVML_ERROR_INSUFFICIENT_SIZE 7
#define NVML_ERROR_INSUFFICIENT_POWER 8
#define NVML_ERROR_DRIVER_NOT_LOADED 9
#define NVML_ERROR_TIMEOUT 10
#define NVML_ERROR_IRQ_ISSUE 11
#define NVML_ERROR_LIBRARY_NOT_FOUND 12
#define NVML_ERROR_FUNCTION_NOT_FOUND 13
#define NVML_ERROR_CORRUPTED_INFOROM 14
#define NVML_ERROR_GPU_IS_LOST 15
#define NVML_ERROR_RESET_REQUIRED 16
#define NVML_ERROR_OPERATING_SYSTEM 17
#define NVML_ERROR_LIB_RM_VERSION_MISMATCH 18
#define NVML_ERROR_IN_USE 19
#define NVML_ERROR_MEMORY 20
#define NVML_ERROR_NO_DATA 21
#define NVML_ERROR_VGPU_ECC_NOT_SUPPORTED 22
#define NVML_ERROR_INSUFFICIENT_RESOURCES 23
#define NVML_ERROR_FREQ_NOT_SUPPORTED 24
#define NVML_ERROR_ARGUMENT_VERSION_MISMATCH 25
#define NVML_ERROR_DEPRECATED 26
#define NVML_ERROR_NOT_READY 27
#define NVML_ERROR_GPU_NOT_FOUND 28
#define NVML_ERROR_INVALID_STATE 29
#define NVML_ERROR_UNKNOWN 999

typedef struct nvmlDevice_st* nvmlDevice_t;
typedef struct nvmlGpuInstance_st* nvmlGpuInstance_t;
typedef struct nvmlComputeInstance_st* nvmlComputeInstance_t;

#define NVML_DEVICE_MIG_DISABLE 0x0
#define NVML_DEVICE_MIG_ENABLE 0x1

#define NVML_DEVICE_UUID_BUFFER_SIZE 80
#define NVML_DEVICE_UUID_V2_BUFFER_SIZE 96
#define NVML_DEVICE_NAME_BUFFER_SIZE 64
#define NVML_DEVICE_NAME_V2_BUFFER_SIZE 96
#define NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE 32
#define NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE 16
#define NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE 80
#define NVML_SYSTEM_NVML_VERSION_BUFFER_SIZE 80

#define NVML_GPU_INSTANCE_PROFILE_1_SLICE 0x0
#define NVML_GPU_INSTANCE_PROFILE_2_SLICE 0x1
#define NVML_GPU_INSTANCE_PROFILE_3_SLICE 0x2
#define NVML_GPU_INSTANCE_PROFILE_4_SLICE 0x3
#define NVML_GPU_INSTANCE_PROFILE_7_SLICE 0x4
#define NVML_GPU_INSTANCE_PROFILE_8_SLICE 0x5
#define NVML_GPU_INSTANCE_PROFILE_6_SLICE 0x6
#define NVML_GPU_INSTANCE_PROFILE_1_SLICE_REV1 0x7
#define NVML_GPU_INSTANCE_PROFILE_2_SLICE_REV1 0x8
#define NVML_GPU_INSTANCE_PROFILE_1_SLICE_REV2 0x9
#define NVML_GPU_INSTANCE_PROFILE_1_SLICE_GFX 0xA
#define NVML_GPU_INSTANCE_PROFILE_2_SLICE_GFX 0xB
#define NVML_GPU_INSTANCE_PROFILE_4_SLICE_GFX 0xC
#define NVML_GPU_INSTANCE_PROFILE_1_SLICE_NO_ME 0xD
#define NVML_GPU_INSTANCE_PROFILE_2_SLICE_NO_ME 0xE
#define NVML_GPU_INSTANCE_PROFILE_1_SLICE_ALL_ME 0xF
#define NVML_GPU_INSTANCE_PROFILE_2_SLICE_ALL_ME 0x10
/// Differs between headers (0x11 in 12.9-13.2, 0x12 in 13.3); callers enumerate until INVALID_ARGUMENT
/// instead.
#define MIGCTL_NVML_GPU_INSTANCE_PROFILE_SCAN_LIMIT 0x20

#define NVML_COMPUTE_INSTANCE_PROFILE_1_SLICE 0x0
#define NVML_COMPUTE_INSTANCE_PROFILE_2_SLICE 0x1
#define NVML_COMPUTE_INSTANCE_PROFILE_3_SLICE 0x2
#define NVML_COMPUTE_INSTANCE_PROFILE_4_SLICE 0x3
#define NVML_COMPUTE_INSTANCE_PROFILE_7_SLICE 0x4
#define NVML_COMPUTE_INSTANCE_PROFILE_8_SLICE 0x5
#define NVML_COMPUTE_INSTANCE_PROFILE_6_SLICE 0x6
#define NVML_COMPUTE_INSTANCE_PROFILE_1_SLICE_REV1 0x7
#define NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED 0x0

#define NVML_DEVICE_ARCH_AMPERE 7
#define NVML_DEVICE_ARCH_ADA 8
#define NVML_DEVICE_ARCH_HOPPER 9
#define NVML_DEVICE_ARCH_BLACKWELL 10
typedef unsigned int nvmlDeviceArchitecture_t;

#define NVML_STRUCT_VERSION(data, ver) (unsigned int)(sizeof(nvml##data##_v##ver##_t) | ((ver) << 24U))

typedef struct nvmlPciInfo_st {
  char busIdLegacy[NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE];
  unsigned int domain;
  unsigned int bus;
  unsigned int device;
  unsigned int pciDeviceId;  ///< (device id << 16) | vendor id, e.g. 0x233010DE.
  unsigned int pciSubSystemId;
  char busId[NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE];
} nvmlPciInfo_t;

typedef struct nvmlMemory_st {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
} nvmlMemory_t;

typedef struct nvmlGpuInstancePlacement_st {
  unsigned int start;
  unsigned int size;
} nvmlGpuInstancePlacement_t;

typedef struct nvmlGpuInstanceProfileInfo_st {
  unsigned int id;
  unsigned int isP2pSupported;
  unsigned int sliceCount;
  unsigned int instanceCount;
  unsigned int multiprocessorCount;
  unsigned int copyEngineCount;
  unsigned int decoderCount;
  unsigned int encoderCount;
  unsigned int jpegCount;
  unsigned int ofaCount;
  unsigned long long memorySizeMB;
} nvmlGpuInstanceProfileInfo_t;

typedef struct nvmlGpuInstanceProfileInfo_v2_st {
  unsigned int version;
  unsigned int id;
  unsigned int isP2pSupported;
  unsigned int sliceCount;
  unsigned int instanceCount;
  unsigned int multiprocessorCount;
  unsigned int copyEngineCount;
  unsigned int decoderCount;
  unsigned int encoderCount;
  unsigned int jpegCount;
  unsigned int ofaCount;
  unsigned long long memorySizeMB;
  char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE];
} nvmlGpuInstanceProfileInfo_v2_t;
#define nvmlGpuInstanceProfileInfo_v2 NVML_STRUCT_VERSION(GpuInstanceProfileInfo, 2)

typedef struct nvmlGpuInstanceInfo_st {
  nvmlDevice_t device;
  unsigned int id;
  unsigned int profileId;
  nvmlGpuInstancePlacement_t placement;
} nvmlGpuInstanceInfo_t;

typedef struct nvmlComputeInstancePlacement_st {
  unsigned int start;
  unsigned int size;
} nvmlComputeInstancePlacement_t;

typedef struct nvmlComputeInstanceProfileInfo_st {
  unsigned int id;
  unsigned int sliceCount;
  unsigned int instanceCount;
  unsigned int multiprocessorCount;
  unsigned int sharedCopyEngineCount;
  unsigned int sharedDecoderCount;
  unsigned int sharedEncoderCount;
  unsigned int sharedJpegCount;
  unsigned int sharedOfaCount;
} nvmlComputeInstanceProfileInfo_t;

typedef struct nvmlComputeInstanceProfileInfo_v2_st {
  unsigned int version;
  unsigned int id;
  unsigned int sliceCount;
  unsigned int instanceCount;
  unsigned int multiprocessorCount;
  unsigned int sharedCopyEngineCount;
  unsigned int sharedDecoderCount;
  unsigned int sharedEncoderCount;
  unsigned int sharedJpegCount;
  unsigned int sharedOfaCount;
  char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE];
} nvmlComputeInstanceProfileInfo_v2_t;
#define nvmlComputeInstanceProfileInfo_v2 NVML_STRUCT_VERSION(ComputeInstanceProfileInfo, 2)

typedef struct nvmlComputeInstanceInfo_st {
  nvmlDevice_t device;
  nvmlGpuInstance_t gpuInstance;
  unsigned int id;
  unsigned int profileId;
  nvmlComputeInstancePlacement_t placement;
} nvmlComputeInstanceInfo_t;

typedef struct nvmlDeviceAttributes_st {
  unsigned int multiprocessorCount;
  unsigned int sharedCopyEngineCount;
  unsigned int sharedDecoderCount;
  unsigned int sharedEncoderCount;
  unsigned int sharedJpegCount;
  unsigned int sharedOfaCount;
  unsigned int gpuInstanceSliceCount;
  unsigned int computeInstanceSliceCount;
  unsigned long long memorySizeMB;
} nvmlDeviceAttributes_t;

typedef struct nvmlProcessInfo_st {
  unsigned int pid;
  unsigned long long usedGpuMemory;
  unsigned int gpuInstanceId;      ///< 0xFFFFFFFF when MIG is not enabled.
  unsigned int computeInstanceId;  ///< 0xFFFFFFFF when MIG is not enabled.
} nvmlProcessInfo_t;

/// GPU Performance Monitoring (Hopper and later): samples of a GPU or of one GPU instance, and metrics computed
/// between two samples.
typedef struct nvmlGpmSample_st* nvmlGpmSample_t;

typedef struct {
  unsigned int metricId;    ///< IN: NVML_GPM_METRIC_*.
  nvmlReturn_t nvmlReturn;  ///< OUT: the value is valid only when NVML_SUCCESS.
  double value;             ///< OUT
  struct {
    char* shortName;
    char* longName;
    char* unit;
  } metricInfo;  ///< OUT: may be null.
} nvmlGpmMetric_t;

#define NVML_GPM_METRIC_GRAPHICS_UTIL 1  ///< Percent of time any compute or graphics work was active.
#define NVML_GPM_METRIC_SM_UTIL 2        ///< Percent of SMs that were busy.
#define NVML_GPM_METRIC_SM_OCCUPANCY 3   ///< Percent of warps active against the theoretical maximum.
#define NVML_GPM_METRIC_DRAM_BW_UTIL 10  ///< Percent of DRAM bandwidth used against the theoretical maximum.
#define NVML_GPM_METRIC_MAX 210          ///< The array size of nvmlGpmMetricsGet_t in driver 580's header.

typedef struct {
  unsigned int version;     ///< NVML_GPM_METRICS_GET_VERSION
  unsigned int numMetrics;  ///< How many of metrics[] to compute.
  nvmlGpmSample_t sample1;
  nvmlGpmSample_t sample2;  ///< Taken after sample1.
  nvmlGpmMetric_t metrics[NVML_GPM_METRIC_MAX];
} nvmlGpmMetricsGet_t;
#define NVML_GPM_METRICS_GET_VERSION 1

typedef struct {
  unsigned int version;  ///< NVML_GPM_SUPPORT_VERSION
  unsigned int isSupportedDevice;
} nvmlGpmSupport_t;
#define NVML_GPM_SUPPORT_VERSION 1

/// The NVML entry points migctl resolves, as X(name, return, params). The loader and the simulator both
/// expand it, so the list of symbols and their signatures is written once. Versioned names are the ones the
/// real library exports (`nvmlInit_v2`, `..._v2`, `..._v3`).
#define MIGCTL_NVML_FUNCTIONS(X)                                                                             \
  X(nvmlInit_v2, nvmlReturn_t, (void))                                                                       \
  X(nvmlInitWithFlags, nvmlReturn_t, (unsigned int flags))                                                   \
  X(nvmlShutdown, nvmlReturn_t, (void))                                                                      \
  X(nvmlErrorString, const char*, (nvmlReturn_t result))                                                     \
  X(nvmlSystemGetDriverVersion, nvmlReturn_t, (char* version, unsigned int length))                          \
  X(nvmlSystemGetNVMLVersion, nvmlReturn_t, (char* version, unsigned int length))                            \
  X(nvmlSystemGetProcessName, nvmlReturn_t, (unsigned int pid, char* name, unsigned int length))             \
  X(nvmlDeviceGetCount_v2, nvmlReturn_t, (unsigned int* deviceCount))                                        \
  X(nvmlDeviceGetHandleByIndex_v2, nvmlReturn_t, (unsigned int index, nvmlDevice_t* device))                 \
  X(nvmlDeviceGetHandleByUUID, nvmlReturn_t, (const char* uuid, nvmlDevice_t* device))                       \
  X(nvmlDeviceGetIndex, nvmlReturn_t, (nvmlDevice_t device, unsigned int* index))                            \
  X(nvmlDeviceGetName, nvmlReturn_t, (nvmlDevice_t device, char* name, unsigned int length))                 \
  X(nvmlDeviceGetUUID, nvmlReturn_t, (nvmlDevice_t device, char* uuid, unsigned int length))                 \
  X(nvmlDeviceGetPciInfo_v3, nvmlReturn_t, (nvmlDevice_t device, nvmlPciInfo_t * pci))                       \
  X(nvmlDeviceGetMinorNumber, nvmlReturn_t, (nvmlDevice_t device, unsigned int* minorNumber))                \
  X(nvmlDeviceGetArchitecture, nvmlReturn_t, (nvmlDevice_t device, nvmlDeviceArchitecture_t * arch))         \
  X(nvmlDeviceGetMemoryInfo, nvmlReturn_t, (nvmlDevice_t device, nvmlMemory_t * memory))                     \
  X(nvmlDeviceGetMigMode, nvmlReturn_t,                                                                      \
    (nvmlDevice_t device, unsigned int* currentMode, unsigned int* pendingMode))                             \
  X(nvmlDeviceSetMigMode, nvmlReturn_t,                                                                      \
    (nvmlDevice_t device, unsigned int mode, nvmlReturn_t* activationStatus))                                \
  X(nvmlDeviceGetGpuInstanceProfileInfo, nvmlReturn_t,                                                       \
    (nvmlDevice_t device, unsigned int profile, nvmlGpuInstanceProfileInfo_t* info))                         \
  X(nvmlDeviceGetGpuInstanceProfileInfoV, nvmlReturn_t,                                                      \
    (nvmlDevice_t device, unsigned int profile, nvmlGpuInstanceProfileInfo_v2_t* info))                      \
  X(nvmlDeviceGetGpuInstancePossiblePlacements_v2, nvmlReturn_t,                                             \
    (nvmlDevice_t device, unsigned int profileId, nvmlGpuInstancePlacement_t* placements,                    \
     unsigned int* count))                                                                                   \
  X(nvmlDeviceGetGpuInstanceRemainingCapacity, nvmlReturn_t,                                                 \
    (nvmlDevice_t device, unsigned int profileId, unsigned int* count))                                      \
  X(nvmlDeviceCreateGpuInstance, nvmlReturn_t,                                                               \
    (nvmlDevice_t device, unsigned int profileId, nvmlGpuInstance_t* gpuInstance))                           \
  X(nvmlDeviceCreateGpuInstanceWithPlacement, nvmlReturn_t,                                                  \
    (nvmlDevice_t device, unsigned int profileId, const nvmlGpuInstancePlacement_t* placement,               \
     nvmlGpuInstance_t* gpuInstance))                                                                        \
  X(nvmlGpuInstanceDestroy, nvmlReturn_t, (nvmlGpuInstance_t gpuInstance))                                   \
  X(nvmlDeviceGetGpuInstances, nvmlReturn_t,                                                                 \
    (nvmlDevice_t device, unsigned int profileId, nvmlGpuInstance_t* gpuInstances, unsigned int* count))     \
  X(nvmlDeviceGetGpuInstanceById, nvmlReturn_t,                                                              \
    (nvmlDevice_t device, unsigned int id, nvmlGpuInstance_t* gpuInstance))                                  \
  X(nvmlGpuInstanceGetInfo, nvmlReturn_t, (nvmlGpuInstance_t gpuInstance, nvmlGpuInstanceInfo_t * info))     \
  X(nvmlGpuInstanceGetComputeInstanceProfileInfo, nvmlReturn_t,                                              \
    (nvmlGpuInstance_t gpuInstance, unsigned int profile, unsigned int engProfile,                           \
     nvmlComputeInstanceProfileInfo_t* info))                                                                \
  X(nvmlGpuInstanceGetComputeInstanceRemainingCapacity, nvmlReturn_t,                                        \
    (nvmlGpuInstance_t gpuInstance, unsigned int profileId, unsigned int* count))                            \
  X(nvmlGpuInstanceGetComputeInstancePossiblePlacements, nvmlReturn_t,                                       \
    (nvmlGpuInstance_t gpuInstance, unsigned int profileId, nvmlComputeInstancePlacement_t* placements,      \
     unsigned int* count))                                                                                   \
  X(nvmlGpuInstanceCreateComputeInstance, nvmlReturn_t,                                                      \
    (nvmlGpuInstance_t gpuInstance, unsigned int profileId, nvmlComputeInstance_t* computeInstance))         \
  X(nvmlGpuInstanceCreateComputeInstanceWithPlacement, nvmlReturn_t,                                         \
    (nvmlGpuInstance_t gpuInstance, unsigned int profileId, const nvmlComputeInstancePlacement_t* placement, \
     nvmlComputeInstance_t* computeInstance))                                                                \
  X(nvmlComputeInstanceDestroy, nvmlReturn_t, (nvmlComputeInstance_t computeInstance))                       \
  X(nvmlGpuInstanceGetComputeInstances, nvmlReturn_t,                                                        \
    (nvmlGpuInstance_t gpuInstance, unsigned int profileId, nvmlComputeInstance_t* computeInstances,         \
     unsigned int* count))                                                                                   \
  X(nvmlGpuInstanceGetComputeInstanceById, nvmlReturn_t,                                                     \
    (nvmlGpuInstance_t gpuInstance, unsigned int id, nvmlComputeInstance_t* computeInstance))                \
  X(nvmlComputeInstanceGetInfo_v2, nvmlReturn_t,                                                             \
    (nvmlComputeInstance_t computeInstance, nvmlComputeInstanceInfo_t * info))                               \
  X(nvmlDeviceIsMigDeviceHandle, nvmlReturn_t, (nvmlDevice_t device, unsigned int* isMigDevice))             \
  X(nvmlDeviceGetGpuInstanceId, nvmlReturn_t, (nvmlDevice_t device, unsigned int* id))                       \
  X(nvmlDeviceGetComputeInstanceId, nvmlReturn_t, (nvmlDevice_t device, unsigned int* id))                   \
  X(nvmlDeviceGetMaxMigDeviceCount, nvmlReturn_t, (nvmlDevice_t device, unsigned int* count))                \
  X(nvmlDeviceGetMigDeviceHandleByIndex, nvmlReturn_t,                                                       \
    (nvmlDevice_t device, unsigned int index, nvmlDevice_t* migDevice))                                      \
  X(nvmlDeviceGetDeviceHandleFromMigDeviceHandle, nvmlReturn_t,                                              \
    (nvmlDevice_t migDevice, nvmlDevice_t * device))                                                         \
  X(nvmlDeviceGetComputeRunningProcesses_v3, nvmlReturn_t,                                                   \
    (nvmlDevice_t device, unsigned int* infoCount, nvmlProcessInfo_t* infos))                                \
  X(nvmlDeviceGetAttributes_v2, nvmlReturn_t, (nvmlDevice_t device, nvmlDeviceAttributes_t * attributes))     \
  X(nvmlGpmQueryDeviceSupport, nvmlReturn_t, (nvmlDevice_t device, nvmlGpmSupport_t * gpmSupport))           \
  X(nvmlGpmSampleAlloc, nvmlReturn_t, (nvmlGpmSample_t * gpmSample))                                         \
  X(nvmlGpmSampleFree, nvmlReturn_t, (nvmlGpmSample_t gpmSample))                                            \
  X(nvmlGpmSampleGet, nvmlReturn_t, (nvmlDevice_t device, nvmlGpmSample_t gpmSample))                        \
  X(nvmlGpmMigSampleGet, nvmlReturn_t,                                                                       \
    (nvmlDevice_t device, unsigned int gpuInstanceId, nvmlGpmSample_t gpmSample))                            \
  X(nvmlGpmMetricsGet, nvmlReturn_t, (nvmlGpmMetricsGet_t * metricsGet))

/// Extensions exported only by libmigsim.so; resolved when present so migctl can drive the simulator's reset.
#define MIGCTL_MIGSIM_FUNCTIONS(X) X(migsimDeviceReset, nvmlReturn_t, (nvmlDevice_t device))

#ifdef __cplusplus
}
#endif
