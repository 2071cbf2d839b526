// Drives the built libmigsim.so through its exported C functions, as migctl and nvidia-ml-py do.
#include <dlfcn.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>

#include "nvml/nvml_abi.h"
#include "sim/machine.h"
#include "sim/test_support.h"

namespace migctl::sim {
namespace {

/// A private copy of libmigsim.so, loaded with its own statics, so a test can give it a fresh environment.
struct Nvml {
#define MIGSIM_FIELD(name, ret, params) ret(*name) params = nullptr;
  MIGCTL_NVML_FUNCTIONS(MIGSIM_FIELD)
  MIGCTL_MIGSIM_FUNCTIONS(MIGSIM_FIELD)
#undef MIGSIM_FIELD
  void* library = nullptr;

  static Nvml Load(const testing::TempDir& dir) {
    static std::atomic<int> copies = 0;
    std::string copy = dir.File("libmigsim-" + std::to_string(copies++) + ".so");
    std::filesystem::copy_file(MIGSIM_LIBRARY, copy);
    Nvml nvml;
    nvml.library = dlopen(copy.c_str(), RTLD_NOW | RTLD_LOCAL);
    EXPECT_NE(nvml.library, nullptr) << dlerror();
#define MIGSIM_RESOLVE(name, ret, params) \
  nvml.name = reinterpret_cast<ret(*) params>(dlsym(nvml.library, #name));
    MIGCTL_NVML_FUNCTIONS(MIGSIM_RESOLVE)
    MIGCTL_MIGSIM_FUNCTIONS(MIGSIM_RESOLVE)
#undef MIGSIM_RESOLVE
    return nvml;
  }
};

class NvmlExportsTest : public ::testing::Test {
 protected:
  /// Creates a machine for `spec`, points MIGSIM_STATE at it and initializes the library.
  void Start(const std::string& spec) {
    path_ = dir_.File("machine.json");
    ASSERT_TRUE(InitMachine(path_, spec, true, 7).ok());
    ::setenv("MIGSIM_STATE", path_.c_str(), 1);
    ASSERT_EQ(nvml_.nvmlInit_v2(), NVML_SUCCESS);
  }
  void TearDown() override {
    if (!path_.empty()) nvml_.nvmlShutdown();
  }

  nvmlDevice_t Device(unsigned index) {
    nvmlDevice_t device = nullptr;
    EXPECT_EQ(nvml_.nvmlDeviceGetHandleByIndex_v2(index, &device), NVML_SUCCESS);
    return device;
  }
  /// Enables MIG on a GPU (with a reset on Ampere).
  void EnableMig(nvmlDevice_t device) {
    nvmlReturn_t activation = NVML_SUCCESS;
    ASSERT_EQ(nvml_.nvmlDeviceSetMigMode(device, NVML_DEVICE_MIG_ENABLE, &activation), NVML_SUCCESS);
    if (activation == NVML_ERROR_RESET_REQUIRED) {
      ASSERT_EQ(nvml_.migsimDeviceReset(device), NVML_SUCCESS);
    }
  }
  nvmlReturn_t CreateAuto(nvmlDevice_t device, std::initializer_list<unsigned> profiles,
                          std::vector<unsigned>* starts) {
    for (unsigned profile : profiles) {
      nvmlGpuInstance_t gi = nullptr;
      if (nvmlReturn_t ret = nvml_.nvmlDeviceCreateGpuInstance(device, profile, &gi); ret != NVML_SUCCESS)
        return ret;
      nvmlGpuInstanceInfo_t info{};
      EXPECT_EQ(nvml_.nvmlGpuInstanceGetInfo(gi, &info), NVML_SUCCESS);
      starts->push_back(info.placement.start);
    }
    return NVML_SUCCESS;
  }

  static testing::TempDir& LibDir() {
    static testing::TempDir* dir = new testing::TempDir;
    return *dir;
  }
  static Nvml& Shared() {
    static Nvml nvml = Nvml::Load(LibDir());
    return nvml;
  }

  testing::TempDir dir_;
  std::string path_;
  Nvml& nvml_ = Shared();
};

TEST_F(NvmlExportsTest, ExportsEveryEntryPointAndTheAliasesClientsUse) {
#define MIGSIM_CHECK(name, ret, params) EXPECT_NE(nvml_.name, nullptr) << #name;
  MIGCTL_NVML_FUNCTIONS(MIGSIM_CHECK)
  MIGCTL_MIGSIM_FUNCTIONS(MIGSIM_CHECK)
#undef MIGSIM_CHECK
  for (const char* alias :
       {"nvmlInit", "nvmlDeviceGetCount", "nvmlDeviceGetHandleByIndex", "nvmlDeviceGetPciInfo",
        "nvmlDeviceGetPciInfo_v2", "nvmlComputeInstanceGetInfo", "nvmlDeviceGetGpuInstancePossiblePlacements",
        "nvmlDeviceGetMemoryInfo_v2", "nvmlGpuInstanceGetComputeInstanceProfileInfoV"}) {
    EXPECT_NE(dlsym(nvml_.library, alias), nullptr) << alias;
  }
  EXPECT_EQ(dlsym(nvml_.library, "_ZN6migctl9FindModelESt17basic_string_viewIcSt11char_traitsIcEE"), nullptr);
  EXPECT_STREQ(nvml_.nvmlErrorString(NVML_ERROR_INSUFFICIENT_RESOURCES), "Insufficient Resources");
  EXPECT_STREQ(nvml_.nvmlErrorString(NVML_ERROR_IN_USE), "In use by another client");
}

TEST_F(NvmlExportsTest, InitNeedsAReadableStateOfAKnownVersion) {
  unsigned count = 0;
  EXPECT_EQ(nvml_.nvmlDeviceGetCount_v2(&count), NVML_ERROR_UNINITIALIZED);
  ::unsetenv("MIGSIM_STATE");
  EXPECT_EQ(nvml_.nvmlInit_v2(), NVML_ERROR_DRIVER_NOT_LOADED);
  std::string bad = dir_.File("bad.json");
  ::setenv("MIGSIM_STATE", bad.c_str(), 1);
  EXPECT_EQ(nvml_.nvmlInit_v2(), NVML_ERROR_DRIVER_NOT_LOADED);  // Missing.
  std::ofstream(bad) << "{ corrupt";
  EXPECT_EQ(nvml_.nvmlInit_v2(), NVML_ERROR_DRIVER_NOT_LOADED);
  std::ofstream(bad, std::ios::trunc) << R"({"version": 99, "seed": 0, "gpus": []})";
  EXPECT_EQ(nvml_.nvmlInitWithFlags(0), NVML_ERROR_DRIVER_NOT_LOADED);
  EXPECT_EQ(nvml_.nvmlShutdown(), NVML_ERROR_UNINITIALIZED);

  Start("h100-80gb:2");
  ASSERT_EQ(nvml_.nvmlInit_v2(), NVML_SUCCESS);  // Reference-counted.
  ASSERT_EQ(nvml_.nvmlShutdown(), NVML_SUCCESS);
  ASSERT_EQ(nvml_.nvmlDeviceGetCount_v2(&count), NVML_SUCCESS);
  EXPECT_EQ(count, 2u);
}

TEST_F(NvmlExportsTest, DeviceIdentity) {
  Start("h100-80gb,a100-40gb");
  nvmlDevice_t device = Device(0);
  EXPECT_EQ(Device(0), device) << "handles are stable";
  char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE];
  ASSERT_EQ(nvml_.nvmlDeviceGetName(device, name, sizeof name), NVML_SUCCESS);
  EXPECT_STREQ(name, testing::Model("h100-80gb").product_name.c_str());
  char uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE];
  ASSERT_EQ(nvml_.nvmlDeviceGetUUID(device, uuid, sizeof uuid), NVML_SUCCESS);
  EXPECT_EQ(nvml_.nvmlDeviceGetUUID(device, uuid, 10), NVML_ERROR_INSUFFICIENT_SIZE);
  nvmlDevice_t by_uuid = nullptr;
  ASSERT_EQ(nvml_.nvmlDeviceGetHandleByUUID(uuid, &by_uuid), NVML_SUCCESS);
  EXPECT_EQ(by_uuid, device);
  nvmlPciInfo_t pci{};
  ASSERT_EQ(nvml_.nvmlDeviceGetPciInfo_v3(device, &pci), NVML_SUCCESS);
  EXPECT_STREQ(pci.busId, "00000000:07:00.0");
  EXPECT_EQ(pci.pciDeviceId, (testing::Model("h100-80gb").pci_device_ids.front() << 16) | 0x10DEu);
  nvmlDeviceArchitecture_t arch = 0;
  ASSERT_EQ(nvml_.nvmlDeviceGetArchitecture(Device(1), &arch), NVML_SUCCESS);
  EXPECT_EQ(arch, static_cast<unsigned>(NVML_DEVICE_ARCH_AMPERE));
  nvmlMemory_t memory{};
  ASSERT_EQ(nvml_.nvmlDeviceGetMemoryInfo(device, &memory), NVML_SUCCESS);
  EXPECT_EQ(memory.total, testing::Model("h100-80gb").memory_mib * 1024ull * 1024ull);
  unsigned index = 9;
  EXPECT_EQ(nvml_.nvmlDeviceGetIndex(reinterpret_cast<nvmlDevice_t>(&index), &index),
            NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(nvml_.nvmlDeviceGetHandleByIndex_v2(2, &device), NVML_ERROR_INVALID_ARGUMENT);
}

TEST_F(NvmlExportsTest, ProfilesAnswerWithMigOffButInstancesDoNot) {
  Start("h100-80gb");
  nvmlDevice_t device = Device(0);
  nvmlGpuInstanceProfileInfo_v2_t info{};
  info.version = nvmlGpuInstanceProfileInfo_v2;
  ASSERT_EQ(nvml_.nvmlDeviceGetGpuInstanceProfileInfoV(device, NVML_GPU_INSTANCE_PROFILE_1_SLICE, &info),
            NVML_SUCCESS);
  EXPECT_EQ(info.id, 19u);
  EXPECT_STREQ(info.name, "MIG 1g.10gb");
  nvmlGpuInstanceProfileInfo_t v1{};
  EXPECT_EQ(nvml_.nvmlDeviceGetGpuInstanceProfileInfo(device, NVML_GPU_INSTANCE_PROFILE_8_SLICE, &v1),
            NVML_ERROR_NOT_SUPPORTED);
  EXPECT_EQ(nvml_.nvmlDeviceGetGpuInstanceProfileInfo(device, 0x12, &v1), NVML_ERROR_INVALID_ARGUMENT);
  unsigned count = 0;
  ASSERT_EQ(nvml_.nvmlDeviceGetGpuInstancePossiblePlacements_v2(device, 19, nullptr, &count), NVML_SUCCESS);
  EXPECT_EQ(count, 7u);
  nvmlGpuInstancePlacement_t placements[7];
  unsigned small = 2;
  EXPECT_EQ(nvml_.nvmlDeviceGetGpuInstancePossiblePlacements_v2(device, 19, placements, &small),
            NVML_ERROR_INSUFFICIENT_SIZE);
  EXPECT_EQ(small, 7u);
  // The real H100 answers remaining capacity with MIG off (docs/HARDWARE.md): the whole GPU is free.
  EXPECT_EQ(nvml_.nvmlDeviceGetGpuInstanceRemainingCapacity(device, 19, &count), NVML_SUCCESS);
  EXPECT_EQ(count, 7u);
  nvmlGpuInstance_t gi = nullptr;
  EXPECT_EQ(nvml_.nvmlDeviceCreateGpuInstance(device, 19, &gi), NVML_ERROR_NOT_SUPPORTED);
  EXPECT_EQ(nvml_.nvmlDeviceGetMaxMigDeviceCount(device, &count), NVML_SUCCESS);
  EXPECT_EQ(count, 0u);
}

TEST_F(NvmlExportsTest, AmpereModeIsPendingUntilResetHopperSwitchesAtOnce) {
  Start("a100-40gb,h100-80gb");
  unsigned current = 9, pending = 9;
  nvmlReturn_t activation = NVML_SUCCESS;
  ASSERT_EQ(nvml_.nvmlDeviceSetMigMode(Device(0), NVML_DEVICE_MIG_ENABLE, &activation), NVML_SUCCESS);
  EXPECT_EQ(activation, NVML_ERROR_RESET_REQUIRED);
  ASSERT_EQ(nvml_.nvmlDeviceGetMigMode(Device(0), &current, &pending), NVML_SUCCESS);
  EXPECT_EQ(current, 0u);
  EXPECT_EQ(pending, 1u);
  ASSERT_EQ(nvml_.migsimDeviceReset(Device(0)), NVML_SUCCESS);
  ASSERT_EQ(nvml_.nvmlDeviceGetMigMode(Device(0), &current, &pending), NVML_SUCCESS);
  EXPECT_EQ(current, 1u);

  ASSERT_EQ(nvml_.nvmlDeviceSetMigMode(Device(1), NVML_DEVICE_MIG_ENABLE, &activation), NVML_SUCCESS);
  EXPECT_EQ(activation, NVML_SUCCESS);
  ASSERT_EQ(nvml_.nvmlDeviceGetMigMode(Device(1), &current, &pending), NVML_SUCCESS);
  EXPECT_EQ(current, 1u);
  unsigned count = 0;
  ASSERT_EQ(nvml_.nvmlDeviceGetMaxMigDeviceCount(Device(1), &count), NVML_SUCCESS);
  EXPECT_EQ(count, 7u);
}

TEST_F(NvmlExportsTest, AutomaticPlacementDependsOnCreationOrder) {
  Start("a100-40gb:2");
  EnableMig(Device(0));
  EnableMig(Device(1));
  std::vector<unsigned> starts;
  EXPECT_EQ(CreateAuto(Device(0), {19, 19, 14, 9}, &starts), NVML_ERROR_INSUFFICIENT_RESOURCES);
  EXPECT_EQ(starts, (std::vector<unsigned>{6, 4, 0}));
  starts.clear();
  EXPECT_EQ(CreateAuto(Device(1), {9, 19, 14, 19}, &starts), NVML_SUCCESS);
  EXPECT_EQ(starts, (std::vector<unsigned>{4, 0, 2, 1}));
  unsigned remaining = 9;
  ASSERT_EQ(nvml_.nvmlDeviceGetGpuInstanceRemainingCapacity(Device(1), 19, &remaining), NVML_SUCCESS);
  EXPECT_EQ(remaining, 0u);
}

TEST_F(NvmlExportsTest, PlacementIsCheckedForValidityAndOverlap) {
  Start("a100-80gb");
  nvmlDevice_t device = Device(0);
  EnableMig(device);
  nvmlGpuInstance_t gi = nullptr;
  nvmlGpuInstancePlacement_t bad{7, 1}, three_g{4, 4}, two_g{4, 2}, one_g{1, 1};
  EXPECT_EQ(nvml_.nvmlDeviceCreateGpuInstanceWithPlacement(device, 19, &bad, &gi),
            NVML_ERROR_INVALID_ARGUMENT);
  ASSERT_EQ(nvml_.nvmlDeviceCreateGpuInstanceWithPlacement(device, 9, &three_g, &gi), NVML_SUCCESS);
  EXPECT_EQ(nvml_.nvmlDeviceCreateGpuInstanceWithPlacement(device, 14, &two_g, &gi),
            NVML_ERROR_INSUFFICIENT_RESOURCES);
  ASSERT_EQ(nvml_.nvmlDeviceCreateGpuInstanceWithPlacement(device, 19, &one_g, &gi), NVML_SUCCESS);
  nvmlGpuInstance_t list[7];
  unsigned count = 0;
  EXPECT_EQ(nvml_.nvmlDeviceGetGpuInstances(device, 19, list, &count), NVML_ERROR_INSUFFICIENT_SIZE);
  EXPECT_EQ(count, 1u);
  ASSERT_EQ(nvml_.nvmlDeviceGetGpuInstances(device, 19, list, &count), NVML_SUCCESS);
  EXPECT_EQ(list[0], gi);
  nvmlGpuInstanceInfo_t info{};
  ASSERT_EQ(nvml_.nvmlGpuInstanceGetInfo(gi, &info), NVML_SUCCESS);
  nvmlGpuInstance_t by_id = nullptr;
  ASSERT_EQ(nvml_.nvmlDeviceGetGpuInstanceById(device, info.id, &by_id), NVML_SUCCESS);
  EXPECT_EQ(by_id, gi);
  EXPECT_EQ(nvml_.nvmlDeviceGetGpuInstanceById(device, 15, &by_id), NVML_ERROR_NOT_FOUND);
}

TEST_F(NvmlExportsTest, BusyInstancesCannotBeDestroyed) {
  Start("h100-80gb");
  nvmlDevice_t device = Device(0);
  EnableMig(device);
  nvmlGpuInstance_t gi = nullptr;
  nvmlComputeInstance_t ci = nullptr;
  ASSERT_EQ(nvml_.nvmlDeviceCreateGpuInstance(device, 9, &gi), NVML_SUCCESS);
  ASSERT_EQ(nvml_.nvmlGpuInstanceCreateComputeInstance(gi, 2, &ci), NVML_SUCCESS);
  EXPECT_EQ(nvml_.nvmlGpuInstanceDestroy(gi), NVML_ERROR_IN_USE);
  nvmlComputeInstanceInfo_t ci_info{};
  ASSERT_EQ(nvml_.nvmlComputeInstanceGetInfo_v2(ci, &ci_info), NVML_SUCCESS);
  nvmlGpuInstanceInfo_t gi_info{};
  ASSERT_EQ(nvml_.nvmlGpuInstanceGetInfo(gi, &gi_info), NVML_SUCCESS);
  Result<unsigned> pid =
      AttachProcess(path_, {GpuIndex(0), GiId(gi_info.id), CiId(ci_info.id)}, 0, "trainer", 2048);
  ASSERT_TRUE(pid.ok()) << pid.error().message;
  EXPECT_EQ(nvml_.nvmlComputeInstanceDestroy(ci), NVML_ERROR_IN_USE);

  unsigned count = 0;
  EXPECT_EQ(nvml_.nvmlDeviceGetComputeRunningProcesses_v3(device, &count, nullptr),
            NVML_ERROR_INSUFFICIENT_SIZE);
  ASSERT_EQ(count, 1u);
  nvmlProcessInfo_t process{};
  ASSERT_EQ(nvml_.nvmlDeviceGetComputeRunningProcesses_v3(device, &count, &process), NVML_SUCCESS);
  EXPECT_EQ(process.pid, *pid);
  EXPECT_EQ(process.gpuInstanceId, gi_info.id);
  EXPECT_EQ(process.usedGpuMemory, 2048ull << 20);
  char name[32];
  ASSERT_EQ(nvml_.nvmlSystemGetProcessName(*pid, name, sizeof name), NVML_SUCCESS);
  EXPECT_STREQ(name, "trainer");

  ASSERT_TRUE(DetachProcess(path_, *pid).ok());
  EXPECT_EQ(nvml_.nvmlComputeInstanceDestroy(ci), NVML_SUCCESS);
  EXPECT_EQ(nvml_.nvmlGpuInstanceDestroy(gi), NVML_SUCCESS);
  EXPECT_EQ(nvml_.nvmlGpuInstanceDestroy(gi), NVML_ERROR_INVALID_ARGUMENT);
}

TEST_F(NvmlExportsTest, MigDevicesEnumerateByGpuInstanceThenComputeInstance) {
  Start("a100-80gb");
  nvmlDevice_t device = Device(0);
  EnableMig(device);
  nvmlGpuInstance_t a = nullptr, b = nullptr;
  nvmlComputeInstance_t ci = nullptr;
  ASSERT_EQ(nvml_.nvmlDeviceCreateGpuInstance(device, 9, &a), NVML_SUCCESS);
  ASSERT_EQ(nvml_.nvmlDeviceCreateGpuInstance(device, 9, &b), NVML_SUCCESS);
  for (nvmlGpuInstance_t gi : {b, a, b})
    ASSERT_EQ(nvml_.nvmlGpuInstanceCreateComputeInstance(gi, 0, &ci), NVML_SUCCESS);

  std::vector<std::pair<unsigned, unsigned>> order;
  std::regex mig_uuid("MIG-[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  for (unsigned i = 0;; ++i) {
    nvmlDevice_t mig = nullptr;
    nvmlReturn_t ret = nvml_.nvmlDeviceGetMigDeviceHandleByIndex(device, i, &mig);
    if (ret == NVML_ERROR_NOT_FOUND) break;
    ASSERT_EQ(ret, NVML_SUCCESS);
    unsigned is_mig = 0, gi_id = 0, ci_id = 0;
    ASSERT_EQ(nvml_.nvmlDeviceIsMigDeviceHandle(mig, &is_mig), NVML_SUCCESS);
    EXPECT_EQ(is_mig, 1u);
    ASSERT_EQ(nvml_.nvmlDeviceGetGpuInstanceId(mig, &gi_id), NVML_SUCCESS);
    ASSERT_EQ(nvml_.nvmlDeviceGetComputeInstanceId(mig, &ci_id), NVML_SUCCESS);
    order.emplace_back(gi_id, ci_id);
    char uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE];
    ASSERT_EQ(nvml_.nvmlDeviceGetUUID(mig, uuid, sizeof uuid), NVML_SUCCESS);
    EXPECT_TRUE(std::regex_match(uuid, mig_uuid)) << uuid;
    nvmlDevice_t back = nullptr;
    ASSERT_EQ(nvml_.nvmlDeviceGetHandleByUUID(uuid, &back), NVML_SUCCESS);
    EXPECT_EQ(back, mig);
    ASSERT_EQ(nvml_.nvmlDeviceGetDeviceHandleFromMigDeviceHandle(mig, &back), NVML_SUCCESS);
    EXPECT_EQ(back, device);
    char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE];
    ASSERT_EQ(nvml_.nvmlDeviceGetName(mig, name, sizeof name), NVML_SUCCESS);
    EXPECT_NE(std::string(name).find(" MIG 1c.3g."), std::string::npos) << name;
  }
  ASSERT_EQ(order.size(), 3u);
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
  unsigned id = 0;
  EXPECT_EQ(nvml_.nvmlDeviceGetGpuInstanceId(device, &id), NVML_ERROR_INVALID_ARGUMENT);
}

/// Runs `body` in a child process with its own copy of the library; returns the child's wait status.
int InChild(const std::function<int()>& body) {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(body());
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

TEST_F(NvmlExportsTest, FaultsFireOnTheNthCallOfEachFunction) {
  path_ = dir_.File("machine.json");
  ASSERT_TRUE(InitMachine(path_, "h100-80gb", true, 7).ok());
  ::setenv("MIGSIM_STATE", path_.c_str(), 1);
  ::setenv("MIGSIM_FAULTS", "nvmlDeviceGetCount_v2@2=UNKNOWN,nvmlDeviceGetHandleByIndex_v2@1=IN_USE", 1);
  Nvml faulty = Nvml::Load(dir_);
  ASSERT_EQ(faulty.nvmlInit_v2(), NVML_SUCCESS);  // The environment is read at the first call.
  ::unsetenv("MIGSIM_FAULTS");
  unsigned count = 0;
  nvmlDevice_t device = nullptr;
  EXPECT_EQ(faulty.nvmlDeviceGetCount_v2(&count), NVML_SUCCESS);
  EXPECT_EQ(faulty.nvmlDeviceGetHandleByIndex_v2(0, &device), NVML_ERROR_IN_USE);
  EXPECT_EQ(faulty.nvmlDeviceGetCount_v2(&count), NVML_ERROR_UNKNOWN);
  EXPECT_EQ(faulty.nvmlDeviceGetCount_v2(&count), NVML_SUCCESS);
  EXPECT_EQ(faulty.nvmlDeviceGetHandleByIndex_v2(0, &device), NVML_SUCCESS);
  faulty.nvmlShutdown();
  path_.clear();
}

TEST_F(NvmlExportsTest, CrashFaultKillsTheCaller) {
  std::string path = dir_.File("machine.json");
  ASSERT_TRUE(InitMachine(path, "h100-80gb", true, 7).ok());
  int status = InChild([&] {
    ::setenv("MIGSIM_STATE", path.c_str(), 1);
    ::setenv("MIGSIM_FAULTS", "nvmlDeviceGetCount_v2@1=CRASH", 1);
    Nvml crashy = Nvml::Load(dir_);
    unsigned count = 0;
    if (crashy.nvmlInit_v2() != NVML_SUCCESS) return 2;
    crashy.nvmlDeviceGetCount_v2(&count);
    return 0;
  });
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
}

TEST_F(NvmlExportsTest, MalformedFaultSpecFailsInit) {
  ::setenv("MIGSIM_FAULTS", "nvmlDeviceGetCount_v2@two=UNKNOWN", 1);
  Nvml broken = Nvml::Load(dir_);
  ::testing::internal::CaptureStderr();
  nvmlReturn_t ret = broken.nvmlInit_v2();
  std::string stderr_text = ::testing::internal::GetCapturedStderr();
  ::unsetenv("MIGSIM_FAULTS");
  EXPECT_EQ(ret, NVML_ERROR_UNKNOWN);
  EXPECT_NE(stderr_text.find("@two=UNKNOWN"), std::string::npos) << stderr_text;
}

TEST_F(NvmlExportsTest, ProcessesMutatingOneMachineAtOnceLoseNothing) {
  constexpr unsigned kChildren = 4, kRounds = 15;
  path_ = dir_.File("machine.json");
  ASSERT_TRUE(InitMachine(path_, "h100-80gb:4", true, 7).ok());
  ::setenv("MIGSIM_STATE", path_.c_str(), 1);
  std::vector<pid_t> children;
  for (unsigned g = 0; g < kChildren; ++g) {
    pid_t pid = ::fork();
    if (pid == 0) {
      Nvml& nvml = Shared();
      nvmlDevice_t device = nullptr;
      nvmlReturn_t activation = NVML_SUCCESS;
      if (nvml.nvmlInit_v2() != NVML_SUCCESS ||
          nvml.nvmlDeviceGetHandleByIndex_v2(g, &device) != NVML_SUCCESS ||
          nvml.nvmlDeviceSetMigMode(device, NVML_DEVICE_MIG_ENABLE, &activation) != NVML_SUCCESS) {
        ::_exit(2);
      }
      for (unsigned round = 0; round < kRounds; ++round) {
        nvmlGpuInstance_t gi = nullptr;
        if (nvml.nvmlDeviceCreateGpuInstance(device, 14, &gi) != NVML_SUCCESS) ::_exit(3);
        if (nvml.nvmlGpuInstanceDestroy(gi) != NVML_SUCCESS) ::_exit(4);
      }
      for (unsigned k = 0; k <= g; ++k) {
        nvmlGpuInstance_t gi = nullptr;
        if (nvml.nvmlDeviceCreateGpuInstance(device, 19, &gi) != NVML_SUCCESS) ::_exit(5);
      }
      ::_exit(0);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  }
  Result<MachineState> state = LoadMachine(path_);
  ASSERT_TRUE(state.ok()) << state.error().message;
  for (unsigned g = 0; g < kChildren; ++g) {
    const SimGpu& gpu = state->gpus[g];
    EXPECT_EQ(gpu.mig_current, 1u);
    EXPECT_EQ(gpu.gpu_instances.size(), g + 1) << "GPU " << g;
    EXPECT_EQ(gpu.creations, kRounds + g + 1) << "GPU " << g;
  }
  path_.clear();
}

// ---- What Slurm's gpu/nvml plugin asks beyond MIG: CPU affinity, NvLink, clocks

/// An exported entry point outside MIGCTL_NVML_FUNCTIONS, resolved by name; fails the test when absent.
template <typename Function>
Function* Extra(const Nvml& nvml, const char* name) {
  auto* function = reinterpret_cast<Function*>(dlsym(nvml.library, name));
  EXPECT_NE(function, nullptr) << name;
  return function;
}

/// A MIG device on `device`: one 1g GI with its full-width CI.
nvmlDevice_t MakeMigDevice(Nvml& nvml, nvmlDevice_t device) {
  nvmlGpuInstance_t gi = nullptr;
  nvmlComputeInstance_t ci = nullptr;
  nvmlDevice_t mig = nullptr;
  EXPECT_EQ(nvml.nvmlDeviceCreateGpuInstance(device, 19, &gi), NVML_SUCCESS);
  EXPECT_EQ(nvml.nvmlGpuInstanceCreateComputeInstance(gi, 0, &ci), NVML_SUCCESS);
  EXPECT_EQ(nvml.nvmlDeviceGetMigDeviceHandleByIndex(device, 0, &mig), NVML_SUCCESS);
  return mig;
}

TEST_F(NvmlExportsTest, CpuAffinityIsEveryOnlineCpuOfTheHost) {
  Start("h100-80gb");
  auto* affinity =
      Extra<nvmlReturn_t(nvmlDevice_t, unsigned, unsigned long*)>(nvml_, "nvmlDeviceGetCpuAffinity");
  ASSERT_NE(affinity, nullptr);
  long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  ASSERT_GT(cpus, 0);
  unsigned long set[4] = {0, 0, 0, 0xdeadbeef};
  ASSERT_EQ(affinity(Device(0), 3, set), NVML_SUCCESS);
  int bits = 0;
  for (int i = 0; i < 3; ++i) bits += __builtin_popcountl(set[i]);
  EXPECT_EQ(bits, std::min<long>(cpus, 3 * 64));
  EXPECT_EQ(set[0] & 1ul, 1ul) << "CPU 0 is online";
  EXPECT_EQ(set[3], 0xdeadbeefu) << "wrote past cpuSetSize";
  EXPECT_EQ(affinity(Device(0), 0, set), NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(affinity(Device(0), 1, nullptr), NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(affinity(reinterpret_cast<nvmlDevice_t>(set), 1, set), NVML_ERROR_INVALID_ARGUMENT);
}

TEST_F(NvmlExportsTest, NvLinkIsNotSupportedOnASimulatedMachine) {
  Start("h100-80gb");
  auto* state = Extra<nvmlReturn_t(nvmlDevice_t, unsigned, int*)>(nvml_, "nvmlDeviceGetNvLinkState");
  auto* remote = Extra<nvmlReturn_t(nvmlDevice_t, unsigned, nvmlPciInfo_t*)>(
      nvml_, "nvmlDeviceGetNvLinkRemotePciInfo_v2");
  ASSERT_TRUE(state && remote);
  int active = -1;
  nvmlPciInfo_t pci{};
  // Slurm's gpu/nvml plugin stops probing links at NOT_SUPPORTED; any other error is logged for every link.
  EXPECT_EQ(state(Device(0), 0, &active), NVML_ERROR_NOT_SUPPORTED);
  EXPECT_EQ(remote(Device(0), 0, &pci), NVML_ERROR_NOT_SUPPORTED);
  EXPECT_EQ(state(Device(0), 0, nullptr), NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(state(Device(0), 36, &active), NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(remote(Device(0), 0, nullptr), NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(state(reinterpret_cast<nvmlDevice_t>(&pci), 0, &active), NVML_ERROR_INVALID_ARGUMENT);
}

TEST_F(NvmlExportsTest, SupportedClocksAreThoseRecordedOnH100AndH200) {
  Start("h100-80gb,h200-141gb");
  auto* memory =
      Extra<nvmlReturn_t(nvmlDevice_t, unsigned*, unsigned*)>(nvml_, "nvmlDeviceGetSupportedMemoryClocks");
  auto* graphics = Extra<nvmlReturn_t(nvmlDevice_t, unsigned, unsigned*, unsigned*)>(
      nvml_, "nvmlDeviceGetSupportedGraphicsClocks");
  ASSERT_TRUE(memory && graphics);
  unsigned count = 0;
  unsigned clocks[200] = {};
  ASSERT_EQ(memory(Device(0), &count, nullptr), NVML_ERROR_INSUFFICIENT_SIZE);
  ASSERT_EQ(count, 1u);
  ASSERT_EQ(memory(Device(0), &count, clocks), NVML_SUCCESS);
  EXPECT_EQ(clocks[0], 2619u);
  count = 1;
  ASSERT_EQ(memory(Device(1), &count, clocks), NVML_SUCCESS);
  EXPECT_EQ(clocks[0], 3201u);

  count = 10;
  ASSERT_EQ(graphics(Device(0), 2619, &count, clocks), NVML_ERROR_INSUFFICIENT_SIZE);
  ASSERT_EQ(count, 110u) << "1980 down to 345 MHz in 15 MHz steps";
  ASSERT_EQ(graphics(Device(0), 2619, &count, clocks), NVML_SUCCESS);
  EXPECT_EQ(clocks[0], 1980u);
  EXPECT_EQ(clocks[109], 345u);
  for (unsigned i = 1; i < count; ++i) EXPECT_EQ(clocks[i - 1] - clocks[i], 15u) << i;
  EXPECT_EQ(graphics(Device(0), 3201, &count, clocks), NVML_ERROR_NOT_FOUND);
  EXPECT_EQ(graphics(Device(0), 2619, nullptr, clocks), NVML_ERROR_INVALID_ARGUMENT);

  EnableMig(Device(0));
  count = 1;
  EXPECT_EQ(memory(MakeMigDevice(nvml_, Device(0)), &count, clocks), NVML_ERROR_NOT_SUPPORTED)
      << "clocks belong to the whole GPU";
}

TEST_F(NvmlExportsTest, ApplicationsClocksReadAsTheDefaultsAndNeverChange) {
  Start("h100-80gb,a100-40gb");
  auto* get = Extra<nvmlReturn_t(nvmlDevice_t, int, unsigned*)>(nvml_, "nvmlDeviceGetApplicationsClock");
  auto* set = Extra<nvmlReturn_t(nvmlDevice_t, unsigned, unsigned)>(nvml_, "nvmlDeviceSetApplicationsClocks");
  auto* reset = Extra<nvmlReturn_t(nvmlDevice_t)>(nvml_, "nvmlDeviceResetApplicationsClocks");
  ASSERT_TRUE(get && set && reset);
  enum { kGraphics, kSm, kMem, kVideo };
  unsigned mhz = 0;
  ASSERT_EQ(get(Device(0), kGraphics, &mhz), NVML_SUCCESS);
  EXPECT_EQ(mhz, 1980u);
  ASSERT_EQ(get(Device(0), kSm, &mhz), NVML_SUCCESS);
  EXPECT_EQ(mhz, 1980u);
  ASSERT_EQ(get(Device(0), kMem, &mhz), NVML_SUCCESS);
  EXPECT_EQ(mhz, 2619u);
  ASSERT_EQ(get(Device(1), kMem, &mhz), NVML_SUCCESS);
  EXPECT_EQ(mhz, 1215u);
  EXPECT_EQ(get(Device(0), kVideo, &mhz), NVML_ERROR_NOT_SUPPORTED);
  EXPECT_EQ(get(Device(0), 4, &mhz), NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(get(Device(0), kMem, nullptr), NVML_ERROR_INVALID_ARGUMENT);

  if (::geteuid() == 0) {
    EXPECT_EQ(set(Device(0), 2619, 1980), NVML_SUCCESS) << "the defaults: nothing changes";
    EXPECT_EQ(set(Device(0), 2619, 1410), NVML_ERROR_NOT_SUPPORTED);
    EXPECT_EQ(set(Device(0), 2619, 1981), NVML_ERROR_INVALID_ARGUMENT);
    EXPECT_EQ(set(Device(0), 1215, 1980), NVML_ERROR_INVALID_ARGUMENT);
    EXPECT_EQ(reset(Device(0)), NVML_SUCCESS);
    ASSERT_EQ(get(Device(0), kGraphics, &mhz), NVML_SUCCESS);
    EXPECT_EQ(mhz, 1980u);
  }
  nvmlDevice_t device = Device(0);
  int status = InChild([&] {
    if (::geteuid() == 0 && ::seteuid(65534) != 0) return 10;
    if (set(device, 2619, 1980) != NVML_ERROR_NO_PERMISSION) return 11;
    if (reset(device) != NVML_ERROR_NO_PERMISSION) return 12;
    return 0;
  });
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
}

}  // namespace
}  // namespace migctl::sim
