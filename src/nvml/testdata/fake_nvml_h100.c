// A stand-in NVML with one H100 80GB HBM3, answering the profile table recorded on real hardware
// (tests/fixtures/hardware/h100-80gb-hbm3.nvml-profiles.txt). Static state, nothing can be created.
//   FAKE_NVML_MIG=1   MIG on, with GI 2 (3g.40gb at 4:4) holding CI 0 (profile 2, a MIG device with one
//   process)
//                     and GI 7 (1g.10gb at 0:1) holding no CI; MIG device index 0 answers NOT_FOUND.
//   FAKE_NVML_NO_V=1  nvmlDeviceGetGpuInstanceProfileInfoV answers NOT_SUPPORTED (as some drivers do with MIG
//   off).
#include <stdlib.h>
#include <string.h>

#include "nvml/nvml_abi.h"

#define GPU ((nvmlDevice_t)0x100)
#define MIG_DEVICE ((nvmlDevice_t)0x200)
#define GI_3G ((nvmlGpuInstance_t)0x300)
#define GI_1G ((nvmlGpuInstance_t)0x301)
#define CI_3G ((nvmlComputeInstance_t)0x400)
#define MIB (1024ULL * 1024ULL)

static int Flag(const char* name) {
  const char* value = getenv(name);
  return value != NULL && strcmp(value, "1") == 0;
}

static nvmlReturn_t Copy(char* out, unsigned int length, const char* value) {
  if (strlen(value) >= length) return NVML_ERROR_INSUFFICIENT_SIZE;
  strcpy(out, value);
  return NVML_SUCCESS;
}

typedef struct {
  unsigned index, id, slices, max, sms, ce, dec, enc, jpg, ofa;
  unsigned long long mem;
  const char* name;
  unsigned size, starts, first_start, step;
} Profile;

static const Profile kProfiles[] = {
    {0, 19, 1, 7, 16, 1, 1, 0, 1, 0, 9984, "MIG 1g.10gb", 1, 7, 0, 1},
    {1, 14, 2, 3, 32, 2, 2, 0, 2, 0, 20096, "MIG 2g.20gb", 2, 3, 0, 2},
    {2, 9, 3, 2, 60, 3, 3, 0, 3, 0, 40448, "MIG 3g.40gb", 4, 2, 0, 4},
    {3, 5, 4, 1, 64, 4, 4, 0, 4, 0, 40448, "MIG 4g.40gb", 4, 1, 0, 4},
    {4, 0, 7, 1, 132, 8, 7, 0, 7, 1, 81152, "MIG 7g.80gb", 8, 1, 0, 8},
    {7, 20, 1, 1, 16, 1, 1, 0, 1, 1, 9984, "MIG 1g.10gb+me", 1, 7, 0, 1},
    {9, 15, 1, 4, 26, 1, 1, 0, 1, 0, 20096, "MIG 1g.20gb", 2, 4, 0, 2},
};
enum { kProfileCount = sizeof(kProfiles) / sizeof(kProfiles[0]), kLastIndex = 16 };

static const Profile* ByIndex(unsigned index) {
  for (int i = 0; i < kProfileCount; ++i) {
    if (kProfiles[i].index == index) return &kProfiles[i];
  }
  return NULL;
}

static const Profile* ById(unsigned id) {
  for (int i = 0; i < kProfileCount; ++i) {
    if (kProfiles[i].id == id) return &kProfiles[i];
  }
  return NULL;
}

nvmlReturn_t nvmlInit_v2(void) { return NVML_SUCCESS; }
nvmlReturn_t nvmlShutdown(void) { return NVML_SUCCESS; }
nvmlReturn_t nvmlSystemGetDriverVersion(char* v, unsigned int n) { return Copy(v, n, "580.159.04"); }
nvmlReturn_t nvmlSystemGetNVMLVersion(char* v, unsigned int n) { return Copy(v, n, "13.580.159.04"); }

nvmlReturn_t nvmlSystemGetProcessName(unsigned int pid, char* name, unsigned int length) {
  return pid == 4242 ? Copy(name, length, "python3") : NVML_ERROR_NOT_FOUND;
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int* count) {
  *count = 1;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t* device) {
  if (index != 0) return NVML_ERROR_INVALID_ARGUMENT;
  *device = GPU;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char* name, unsigned int length) {
  return Copy(name, length, device == GPU ? "NVIDIA H100 80GB HBM3" : "NVIDIA H100 80GB HBM3 MIG 3g.40gb");
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char* uuid, unsigned int length) {
  return Copy(uuid, length,
              device == GPU ? "GPU-3ecd459c-0b85-7603-9390-03076bf3f151"
                            : "MIG-c7384736-a75d-5afc-978f-d2f1294409fd");
}

nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, nvmlPciInfo_t* pci) {
  (void)device;
  memset(pci, 0, sizeof(*pci));
  strcpy(pci->busId, "00000000:00:06.0");
  pci->pciDeviceId = 0x233010DE;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMinorNumber(nvmlDevice_t device, unsigned int* minor) {
  (void)device;
  *minor = 0;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetArchitecture(nvmlDevice_t device, nvmlDeviceArchitecture_t* arch) {
  (void)device;
  *arch = NVML_DEVICE_ARCH_HOPPER;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t* memory) {
  memory->total = (device == GPU ? 81559ULL : 40448ULL) * MIB;
  memory->used = (device == GPU ? 0ULL : 1037ULL) * MIB;
  memory->free = memory->total - memory->used;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int* current, unsigned int* pending) {
  (void)device;
  *current = *pending = Flag("FAKE_NVML_MIG") ? NVML_DEVICE_MIG_ENABLE : NVML_DEVICE_MIG_DISABLE;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetGpuInstanceProfileInfo(nvmlDevice_t device, unsigned int profile,
                                                 nvmlGpuInstanceProfileInfo_t* info) {
  (void)device;
  if (profile > kLastIndex) return NVML_ERROR_INVALID_ARGUMENT;
  const Profile* p = ByIndex(profile);
  if (p == NULL) return NVML_ERROR_NOT_SUPPORTED;
  nvmlGpuInstanceProfileInfo_t out = {p->id,  0,      p->slices, p->max, p->sms, p->ce,
                                      p->dec, p->enc, p->jpg,    p->ofa, p->mem};
  *info = out;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetGpuInstanceProfileInfoV(nvmlDevice_t device, unsigned int profile,
                                                  nvmlGpuInstanceProfileInfo_v2_t* info) {
  if (info->version != nvmlGpuInstanceProfileInfo_v2) return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
  if (Flag("FAKE_NVML_NO_V")) return NVML_ERROR_NOT_SUPPORTED;
  nvmlGpuInstanceProfileInfo_t v1;
  nvmlReturn_t rc = nvmlDeviceGetGpuInstanceProfileInfo(device, profile, &v1);
  if (rc != NVML_SUCCESS) return rc;
  info->id = v1.id;
  info->isP2pSupported = v1.isP2pSupported;
  info->sliceCount = v1.sliceCount;
  info->instanceCount = v1.instanceCount;
  info->multiprocessorCount = v1.multiprocessorCount;
  info->copyEngineCount = v1.copyEngineCount;
  info->decoderCount = v1.decoderCount;
  info->encoderCount = v1.encoderCount;
  info->jpegCount = v1.jpegCount;
  info->ofaCount = v1.ofaCount;
  info->memorySizeMB = v1.memorySizeMB;
  strcpy(info->name, ByIndex(profile)->name);
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetGpuInstancePossiblePlacements_v2(nvmlDevice_t device, unsigned int profileId,
                                                           nvmlGpuInstancePlacement_t* placements,
                                                           unsigned int* count) {
  (void)device;
  const Profile* p = ById(profileId);
  if (p == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  if (placements == NULL) {
    *count = p->starts;
    return NVML_SUCCESS;
  }
  if (*count < p->starts) return NVML_ERROR_INSUFFICIENT_SIZE;
  for (unsigned i = 0; i < p->starts; ++i) {
    placements[i].start = p->first_start + i * p->step;
    placements[i].size = p->size;
  }
  *count = p->starts;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetGpuInstanceRemainingCapacity(nvmlDevice_t device, unsigned int profileId,
                                                       unsigned int* count) {
  (void)device;
  if (!Flag("FAKE_NVML_MIG")) return NVML_ERROR_NOT_SUPPORTED;
  *count = profileId == 19 ? 3 : 0;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetGpuInstances(nvmlDevice_t device, unsigned int profileId, nvmlGpuInstance_t* gis,
                                       unsigned int* count) {
  (void)device;
  if (!Flag("FAKE_NVML_MIG")) return NVML_ERROR_NOT_SUPPORTED;
  const Profile* p = ById(profileId);
  if (p == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  if (*count < p->max) return NVML_ERROR_INSUFFICIENT_SIZE;
  *count = 0;
  if (profileId == 9) gis[(*count)++] = GI_3G;
  if (profileId == 19) gis[(*count)++] = GI_1G;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlGpuInstanceGetInfo(nvmlGpuInstance_t gi, nvmlGpuInstanceInfo_t* info) {
  info->device = GPU;
  info->id = gi == GI_3G ? 2 : 7;
  info->profileId = gi == GI_3G ? 9 : 19;
  info->placement.start = gi == GI_3G ? 4 : 0;
  info->placement.size = gi == GI_3G ? 4 : 1;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlGpuInstanceGetComputeInstanceProfileInfo(nvmlGpuInstance_t gi, unsigned int profile,
                                                          unsigned int engProfile,
                                                          nvmlComputeInstanceProfileInfo_t* info) {
  if (engProfile != NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED || profile > 8)
    return NVML_ERROR_INVALID_ARGUMENT;
  unsigned slices = gi == GI_3G ? 3 : 1;
  if (profile > NVML_COMPUTE_INSTANCE_PROFILE_4_SLICE || profile + 1 > slices || profile == 1) {
    return NVML_ERROR_NOT_SUPPORTED;
  }
  nvmlComputeInstanceProfileInfo_t out = {
      profile, profile + 1, slices / (profile + 1), 20 * (profile + 1), 3, 3, 0, 3, 0};
  *info = out;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlGpuInstanceGetComputeInstancePossiblePlacements(nvmlGpuInstance_t gi, unsigned int profileId,
                                                                 nvmlComputeInstancePlacement_t* placements,
                                                                 unsigned int* count) {
  unsigned slices = gi == GI_3G ? 3 : 1;
  unsigned n = slices / (profileId + 1);
  if (placements == NULL) {
    *count = n;
    return NVML_SUCCESS;
  }
  for (unsigned i = 0; i < n; ++i) {
    placements[i].start = i * (profileId + 1);
    placements[i].size = profileId + 1;
  }
  *count = n;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlGpuInstanceGetComputeInstances(nvmlGpuInstance_t gi, unsigned int profileId,
                                                nvmlComputeInstance_t* cis, unsigned int* count) {
  *count = 0;
  if (gi == GI_3G && profileId == 2) cis[(*count)++] = CI_3G;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlGpuInstanceGetComputeInstanceById(nvmlGpuInstance_t gi, unsigned int id,
                                                   nvmlComputeInstance_t* ci) {
  if (gi != GI_3G || id != 0) return NVML_ERROR_NOT_FOUND;
  *ci = CI_3G;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlComputeInstanceGetInfo_v2(nvmlComputeInstance_t ci, nvmlComputeInstanceInfo_t* info) {
  (void)ci;
  info->device = GPU;
  info->gpuInstance = GI_3G;
  info->id = 0;
  info->profileId = 2;
  info->placement.start = 0;
  info->placement.size = 3;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlGpuInstanceDestroy(nvmlGpuInstance_t gi) {
  return gi == GI_3G ? NVML_ERROR_IN_USE : NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceCreateGpuInstanceWithPlacement(nvmlDevice_t device, unsigned int profileId,
                                                      const nvmlGpuInstancePlacement_t* placement,
                                                      nvmlGpuInstance_t* gi) {
  (void)device;
  (void)profileId;
  (void)placement;
  (void)gi;
  return Flag("FAKE_NVML_MIG") ? NVML_ERROR_INSUFFICIENT_RESOURCES : NVML_ERROR_NOT_SUPPORTED;
}

nvmlReturn_t nvmlDeviceGetMaxMigDeviceCount(nvmlDevice_t device, unsigned int* count) {
  (void)device;
  *count = Flag("FAKE_NVML_MIG") ? 7 : 0;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMigDeviceHandleByIndex(nvmlDevice_t device, unsigned int index, nvmlDevice_t* mig) {
  (void)device;
  if (index != 1) return NVML_ERROR_NOT_FOUND;
  *mig = MIG_DEVICE;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetGpuInstanceId(nvmlDevice_t device, unsigned int* id) {
  if (device != MIG_DEVICE) return NVML_ERROR_INVALID_ARGUMENT;
  *id = 2;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetComputeInstanceId(nvmlDevice_t device, unsigned int* id) {
  if (device != MIG_DEVICE) return NVML_ERROR_INVALID_ARGUMENT;
  *id = 0;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetAttributes_v2(nvmlDevice_t device, nvmlDeviceAttributes_t* a) {
  if (device != MIG_DEVICE) return NVML_ERROR_NOT_SUPPORTED;
  nvmlDeviceAttributes_t out = {60, 3, 3, 0, 3, 0, 3, 3, 40448};
  *a = out;
  return NVML_SUCCESS;
}

/// One process (pid 4242, 1 GiB) on the MIG device when MIG is on, on the GPU when it is off; pid 4343 (no
/// name, memory not available) also on the GPU. Answers INSUFFICIENT_SIZE to a short buffer, as NVML does.
nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device, unsigned int* count,
                                                     nvmlProcessInfo_t* infos) {
  int mig = Flag("FAKE_NVML_MIG");
  unsigned n = (device == MIG_DEVICE && mig) ? 1 : (device == GPU && !mig) ? 2 : 0;
  if (*count < n) {
    *count = n;
    return NVML_ERROR_INSUFFICIENT_SIZE;
  }
  nvmlProcessInfo_t first = {4242, 1024ULL * MIB, mig ? 2u : 0xFFFFFFFFu, mig ? 0u : 0xFFFFFFFFu};
  nvmlProcessInfo_t second = {4343, ~0ULL, 0xFFFFFFFFu, 0xFFFFFFFFu};
  if (n > 0) infos[0] = first;
  if (n > 1) infos[1] = second;
  *count = n;
  return NVML_SUCCESS;
}

nvmlReturn_t migsimDeviceReset(nvmlDevice_t device) {
  return device == GPU ? NVML_SUCCESS : NVML_ERROR_INVALID_ARGUMENT;
}
