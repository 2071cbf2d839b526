/* The floor for one look of `migctl exporter`: the NVML calls that look needs, made directly -- driver
 * version, GPU count, and per GPU its handle, UUID, name, PCI info, minor number, architecture, memory and MIG
 * mode; with MIG off its compute processes and a GPM sample of the GPU; with MIG on, per GI profile its info
 * and remaining capacity and its GPU instances and their info, per MIG device its handle, GI and CI ids, its
 * compute instance (by id: each CI is one MIG device) and that CI's info, UUID, memory and processes, and a GPM
 * sample per GPU instance. Each GPM sample gets
 * three metrics against the previous one. The GPM calls are skipped where GPM is not supported. Loads NVML once, then times LOOKS looks, EVERY_MS apart (the exporter's cadence matters: a GPM sample
 * costs more after a pause), and prints the median in ms. Needs no nvml.h (migctl's declarations).
 *   gcc -O2 -Isrc tools/device/exporter_floor.c -o /tmp/exporter_floor -ldl
 *   /tmp/exporter_floor [LIBRARY] [LOOKS] [EVERY_MS]                                                       */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nvml/nvml_abi.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int by_value(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

#define FN(name, ret, params) static ret(*name) params;
MIGCTL_NVML_FUNCTIONS(FN)

int main(int argc, char** argv) {
  const char* path = argc > 1 ? argv[1] : "libnvidia-ml.so.1";
  const int looks = argc > 2 ? atoi(argv[2]) : 100;
  const int every_ms = argc > 3 ? atoi(argv[3]) : 0;
  void* lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
    return 1;
  }
#define LOAD(name, ret, params) *(void**)&name = dlsym(lib, #name);
  MIGCTL_NVML_FUNCTIONS(LOAD)
  if (nvmlInit_v2() != NVML_SUCCESS) return 1;
  static nvmlGpmMetricsGet_t get;
  static nvmlGpmSample_t last[64][16]; /* [GPU][GI id + 1]: 0 is the whole GPU */
  double* ms = calloc((size_t)looks, sizeof(double));
  for (int look = -1; look < looks; ++look) { /* look -1 warms up and takes the first GPM samples */
    const double t0 = now_ms();
    char text[256];
    nvmlSystemGetDriverVersion(text, sizeof text);
    unsigned count = 0;
    nvmlDeviceGetCount_v2(&count);
    for (unsigned i = 0; i < count && i < 64; ++i) {
      nvmlDevice_t d;
      nvmlPciInfo_t pci;
      nvmlMemory_t memory;
      unsigned minor, current, pending, n = 0;
      nvmlDeviceArchitecture_t arch;
      nvmlProcessInfo_t procs[64];
      nvmlDeviceGetHandleByIndex_v2(i, &d);
      nvmlDeviceGetUUID(d, text, sizeof text);
      nvmlDeviceGetName(d, text, sizeof text);
      nvmlDeviceGetPciInfo_v3(d, &pci);
      nvmlDeviceGetMinorNumber(d, &minor);
      nvmlDeviceGetArchitecture(d, &arch);
      nvmlDeviceGetMemoryInfo(d, &memory);
      nvmlDeviceGetMigMode(d, &current, &pending);
      nvmlGpmSupport_t support = {NVML_GPM_SUPPORT_VERSION, 0};
      const int gpm = nvmlGpmQueryDeviceSupport && nvmlGpmQueryDeviceSupport(d, &support) == NVML_SUCCESS &&
                      support.isSupportedDevice;
      unsigned gis[16], n_gis = 0;
      nvmlGpuInstance_t gi_by_id[16] = {0};
      if (current != NVML_DEVICE_MIG_ENABLE) {
        n = 64;
        nvmlDeviceGetComputeRunningProcesses_v3(d, &n, procs);
      } else {
        for (unsigned p = 0; p < 32; ++p) {
          nvmlGpuInstanceProfileInfo_v2_t info;
          memset(&info, 0, sizeof info);
          info.version = nvmlGpuInstanceProfileInfo_v2;
          nvmlReturn_t rc = nvmlDeviceGetGpuInstanceProfileInfoV(d, p, &info);
          if (rc == NVML_ERROR_INVALID_ARGUMENT) break;
          if (rc != NVML_SUCCESS) continue;
          unsigned free_count = 0, count = 8;
          nvmlDeviceGetGpuInstanceRemainingCapacity(d, info.id, &free_count);
          nvmlGpuInstance_t instances[8];
          if (nvmlDeviceGetGpuInstances(d, info.id, instances, &count) != NVML_SUCCESS) count = 0;
          for (unsigned g = 0; g < count; ++g) {
            nvmlGpuInstanceInfo_t gi;
            nvmlGpuInstanceGetInfo(instances[g], &gi);
            if (n_gis < 16) gis[n_gis++] = gi.id;
            if (gi.id < 16) gi_by_id[gi.id] = instances[g];
          }
        }
        unsigned max = 0;
        nvmlDeviceGetMaxMigDeviceCount(d, &max);
        for (unsigned m = 0; m < max; ++m) {
          nvmlDevice_t mig;
          if (nvmlDeviceGetMigDeviceHandleByIndex(d, m, &mig) != NVML_SUCCESS) continue;
          unsigned gi_id, ci_id;
          nvmlDeviceGetGpuInstanceId(mig, &gi_id);
          nvmlDeviceGetComputeInstanceId(mig, &ci_id);
          nvmlComputeInstance_t ci_handle;
          nvmlComputeInstanceInfo_t ci;
          if (gi_id < 16 && gi_by_id[gi_id] &&
              nvmlGpuInstanceGetComputeInstanceById(gi_by_id[gi_id], ci_id, &ci_handle) == NVML_SUCCESS)
            nvmlComputeInstanceGetInfo_v2(ci_handle, &ci);
          nvmlDeviceGetUUID(mig, text, sizeof text);
          nvmlDeviceGetMemoryInfo(mig, &memory);
          n = 64;
          nvmlDeviceGetComputeRunningProcesses_v3(mig, &n, procs);
        }
      }
      /* GPM: the whole GPU with MIG off, each GPU instance with MIG on. */
      const unsigned targets = current == NVML_DEVICE_MIG_ENABLE ? n_gis : 1;
      for (unsigned t = 0; gpm && t < targets; ++t) {
        const unsigned slot = current == NVML_DEVICE_MIG_ENABLE ? (gis[t] + 1) % 16 : 0;
        nvmlGpmSample_t sample;
        nvmlGpmSampleAlloc(&sample);
        if (current == NVML_DEVICE_MIG_ENABLE) nvmlGpmMigSampleGet(d, gis[t], sample);
        else nvmlGpmSampleGet(d, sample);
        if (last[i][slot]) {
          memset(&get, 0, sizeof get);
          get.version = NVML_GPM_METRICS_GET_VERSION;
          get.numMetrics = 3;
          get.sample1 = last[i][slot];
          get.sample2 = sample;
          get.metrics[0].metricId = NVML_GPM_METRIC_SM_UTIL;
          get.metrics[1].metricId = NVML_GPM_METRIC_SM_OCCUPANCY;
          get.metrics[2].metricId = NVML_GPM_METRIC_DRAM_BW_UTIL;
          nvmlGpmMetricsGet(&get);
          nvmlGpmSampleFree(last[i][slot]);
        }
        last[i][slot] = sample;
      }
    }
    if (look >= 0) ms[look] = now_ms() - t0;
    if (every_ms > 0) {
      struct timespec pause = {every_ms / 1000, (long)(every_ms % 1000) * 1000000L};
      nanosleep(&pause, NULL);
    }
  }
  qsort(ms, (size_t)looks, sizeof(double), by_value);
  printf("exporter floor: %d looks %d ms apart, median %.3f ms, min %.3f ms\n", looks, every_ms, ms[looks / 2],
         ms[0]);
  nvmlShutdown();
  return 0;
}
