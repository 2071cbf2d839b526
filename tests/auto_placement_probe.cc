// auto_placement_probe PROFILE_ID...: creates GPU instances on GPU 0 of the simulated machine named by
// MIGSIM_STATE with nvmlDeviceCreateGpuInstance (the driver picks the placement), in the order given, and
// prints one line per call: `PROFILE_ID RETURN_CODE START SIZE` (start and size -1 when the call failed).
// sim_e2e_test runs it to show that the simulator's automatic placement depends on order, as the driver's does.
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

#include "nvml/nvml_abi.h"

namespace {

template <typename Fn>
Fn Resolve(void* library, const char* name) {
  void* symbol = dlsym(library, name);
  if (symbol == nullptr) {
    std::fprintf(stderr, "auto_placement_probe: %s is missing from %s\n", name, MIGSIM_LIBRARY);
    std::exit(3);
  }
  return reinterpret_cast<Fn>(symbol);
}

}  // namespace

int main(int argc, char** argv) {
  void* library = dlopen(MIGSIM_LIBRARY, RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    std::fprintf(stderr, "auto_placement_probe: %s\n", dlerror());
    return 3;
  }
  auto init = Resolve<nvmlReturn_t (*)()>(library, "nvmlInit_v2");
  auto handle_by_index =
      Resolve<nvmlReturn_t (*)(unsigned, nvmlDevice_t*)>(library, "nvmlDeviceGetHandleByIndex_v2");
  auto create = Resolve<nvmlReturn_t (*)(nvmlDevice_t, unsigned, nvmlGpuInstance_t*)>(
      library, "nvmlDeviceCreateGpuInstance");
  auto get_info =
      Resolve<nvmlReturn_t (*)(nvmlGpuInstance_t, nvmlGpuInstanceInfo_t*)>(library, "nvmlGpuInstanceGetInfo");
  auto shutdown = Resolve<nvmlReturn_t (*)()>(library, "nvmlShutdown");

  if (nvmlReturn_t rc = init(); rc != NVML_SUCCESS) {
    std::fprintf(stderr, "auto_placement_probe: nvmlInit_v2 returned %d\n", rc);
    return 3;
  }
  nvmlDevice_t device = nullptr;
  if (nvmlReturn_t rc = handle_by_index(0, &device); rc != NVML_SUCCESS) {
    std::fprintf(stderr, "auto_placement_probe: nvmlDeviceGetHandleByIndex_v2(0) returned %d\n", rc);
    return 3;
  }
  for (int i = 1; i < argc; ++i) {
    unsigned profile = static_cast<unsigned>(std::strtoul(argv[i], nullptr, 10));
    nvmlGpuInstance_t instance = nullptr;
    nvmlReturn_t rc = create(device, profile, &instance);
    long start = -1, size = -1;
    if (rc == NVML_SUCCESS) {
      nvmlGpuInstanceInfo_t info{};
      if (get_info(instance, &info) == NVML_SUCCESS) {
        start = info.placement.start;
        size = info.placement.size;
      }
    }
    std::printf("%u %d %ld %ld\n", profile, rc, start, size);
  }
  shutdown();
  return 0;
}
