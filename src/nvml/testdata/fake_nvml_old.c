// A stand-in for an old NVML: only unversioned entry points (nvmlInit, nvmlDeviceGetCount,
// nvmlDeviceGetHandleByIndex) and no MIG functions. FAKE_NVML_INIT_RC=<code> makes nvmlInit fail with that
// code.
#include <stdlib.h>
#include <string.h>

#include "nvml/nvml_abi.h"

/// Times nvmlShutdown ran, for tests that hold their own dlopen handle on this library.
int fakeNvmlShutdownCalls = 0;

nvmlReturn_t nvmlInit(void) {
  const char* rc = getenv("FAKE_NVML_INIT_RC");
  return rc != NULL ? atoi(rc) : NVML_SUCCESS;
}

nvmlReturn_t nvmlShutdown(void) {
  ++fakeNvmlShutdownCalls;
  return NVML_SUCCESS;
}

const char* nvmlErrorString(nvmlReturn_t result) {
  return result == NVML_ERROR_DRIVER_NOT_LOADED ? "Driver Not Loaded (fake)" : "Some Error (fake)";
}

nvmlReturn_t nvmlDeviceGetCount(unsigned int* count) {
  *count = 2;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int index, nvmlDevice_t* device) {
  if (index >= 2) return NVML_ERROR_INVALID_ARGUMENT;
  *device = (nvmlDevice_t)(size_t)(index + 1);
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char* name, unsigned int length) {
  const char* value = device == (nvmlDevice_t)1 ? "Old GPU 0" : "Old GPU 1";
  if (strlen(value) >= length) return NVML_ERROR_INSUFFICIENT_SIZE;
  strcpy(name, value);
  return NVML_SUCCESS;
}
