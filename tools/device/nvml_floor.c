/* The floor for `migctl status`: dlopen libnvidia-ml.so.1, nvmlInit_v2, and for every GPU its handle, name,
 * UUID, PCI info and MIG mode -- the least any NVML status tool must do. Prints the GPU count and the wall
 * time in ms. Built and run on the GPU machine by tools/device/run_all.sh; needs no nvml.h (it uses migctl's
 * declarations). */
#include <dlfcn.h>
#include <stdio.h>
#include <time.h>

#include "nvml/nvml_abi.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char** argv) {
  const char* path = argc > 1 ? argv[1] : "libnvidia-ml.so.1";
  double t0 = now_ms();
  void* lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
    return 1;
  }
#define SYM(name) name##_fn name = (name##_fn)dlsym(lib, #name)
  typedef nvmlReturn_t (*nvmlInit_v2_fn)(void);
  typedef nvmlReturn_t (*nvmlShutdown_fn)(void);
  typedef nvmlReturn_t (*nvmlDeviceGetCount_v2_fn)(unsigned*);
  typedef nvmlReturn_t (*nvmlDeviceGetHandleByIndex_v2_fn)(unsigned, nvmlDevice_t*);
  typedef nvmlReturn_t (*nvmlDeviceGetName_fn)(nvmlDevice_t, char*, unsigned);
  typedef nvmlReturn_t (*nvmlDeviceGetUUID_fn)(nvmlDevice_t, char*, unsigned);
  typedef nvmlReturn_t (*nvmlDeviceGetPciInfo_v3_fn)(nvmlDevice_t, nvmlPciInfo_t*);
  typedef nvmlReturn_t (*nvmlDeviceGetMigMode_fn)(nvmlDevice_t, unsigned*, unsigned*);
  SYM(nvmlInit_v2);
  SYM(nvmlShutdown);
  SYM(nvmlDeviceGetCount_v2);
  SYM(nvmlDeviceGetHandleByIndex_v2);
  SYM(nvmlDeviceGetName);
  SYM(nvmlDeviceGetUUID);
  SYM(nvmlDeviceGetPciInfo_v3);
  SYM(nvmlDeviceGetMigMode);
  if (nvmlInit_v2() != NVML_SUCCESS) {
    fprintf(stderr, "nvmlInit_v2 failed\n");
    return 1;
  }
  unsigned count = 0;
  nvmlDeviceGetCount_v2(&count);
  for (unsigned i = 0; i < count; ++i) {
    nvmlDevice_t d;
    char name[96], uuid[96];
    nvmlPciInfo_t pci;
    unsigned cur = 0, pend = 0;
    nvmlDeviceGetHandleByIndex_v2(i, &d);
    nvmlDeviceGetName(d, name, sizeof name);
    nvmlDeviceGetUUID(d, uuid, sizeof uuid);
    nvmlDeviceGetPciInfo_v3(d, &pci);
    nvmlDeviceGetMigMode(d, &cur, &pend);
  }
  nvmlShutdown();
  printf("gpus=%u ms=%.2f\n", count, now_ms() - t0);
  return 0;
}
