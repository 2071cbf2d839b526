// task_probe: the task run_e2e_test gives `migctl run`. It looks up its CUDA_VISIBLE_DEVICES through NVML
// (the simulator named by MIGSIM_STATE), as a CUDA program would find its one device, and reports what it
// found as a JSON last line. Options make it misbehave on purpose:
//   --log FILE      append `start|end DEVICE PID TASK MONOTONIC_NS` lines around its work (the lease audit)
//   --sleep-ms N    work this long
//   --exit N        exit with status N
//   --abort         crash (SIGABRT) after the work
//   --ignore-term   ignore SIGTERM (to be killed after the grace period)
//   --args          print its arguments as a JSON array instead (literal-argument checks)
//   --close-fds     close every descriptor but 0-2 first (as daemons and launchers do)
//   --daemonize     double-fork and setsid: the process migctl started exits at once, the work (and the
//                   log lines) happen in a grandchild in a session of its own
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

#include "nvml/nvml_abi.h"

namespace {

std::string g_log;
std::string g_device;

long long MonotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

/// One line with one write on an O_APPEND descriptor: concurrent probes never interleave.
void LogLine(const char* what) {
  if (g_log.empty()) return;
  char line[512];
  const char* task = std::getenv("MIGCTL_TASK_ID");
  const int n = std::snprintf(line, sizeof line, "%s %s %d %s %lld\n", what, g_device.c_str(), getpid(),
                              task != nullptr ? task : "-", MonotonicNs());
  const int fd = open(g_log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;
  [[maybe_unused]] ssize_t w = write(fd, line, static_cast<size_t>(n));
  close(fd);
}

void OnTerm(int) {
  LogLine("end");
  _exit(143);
}

template <typename Fn>
Fn Resolve(void* library, const char* name) {
  return reinterpret_cast<Fn>(dlsym(library, name));
}

/// What NVML says about `uuid`.
nlohmann::json LookUp(const std::string& uuid) {
  nlohmann::json out = {{"visible", uuid}, {"found", false}};
  void* library = dlopen(MIGSIM_LIBRARY, RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    out["error"] = dlerror();
    return out;
  }
  auto init = Resolve<nvmlReturn_t (*)()>(library, "nvmlInit_v2");
  auto by_uuid = Resolve<nvmlReturn_t (*)(const char*, nvmlDevice_t*)>(library, "nvmlDeviceGetHandleByUUID");
  auto is_mig = Resolve<nvmlReturn_t (*)(nvmlDevice_t, unsigned*)>(library, "nvmlDeviceIsMigDeviceHandle");
  auto get_uuid = Resolve<nvmlReturn_t (*)(nvmlDevice_t, char*, unsigned)>(library, "nvmlDeviceGetUUID");
  auto shutdown = Resolve<nvmlReturn_t (*)()>(library, "nvmlShutdown");
  if (init() != NVML_SUCCESS) {
    out["error"] = "nvmlInit failed";
    return out;
  }
  nvmlDevice_t device{};
  if (uuid.find(',') == std::string::npos && by_uuid(uuid.c_str(), &device) == NVML_SUCCESS) {
    unsigned mig = 0;
    char found[96] = {};
    out["found"] = get_uuid(device, found, sizeof found) == NVML_SUCCESS && uuid == found;
    out["is_mig"] = is_mig(device, &mig) == NVML_SUCCESS && mig != 0;
  }
  shutdown();
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int sleep_ms = 0, exit_status = 0;
  bool crash = false, ignore_term = false, print_args = false, close_fds = false, daemonize = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--log" && i + 1 < argc)
      g_log = argv[++i];
    else if (a == "--sleep-ms" && i + 1 < argc)
      sleep_ms = std::atoi(argv[++i]);
    else if (a == "--exit" && i + 1 < argc)
      exit_status = std::atoi(argv[++i]);
    else if (a == "--abort")
      crash = true;
    else if (a == "--ignore-term")
      ignore_term = true;
    else if (a == "--args")
      print_args = true;
    else if (a == "--close-fds")
      close_fds = true;
    else if (a == "--daemonize")
      daemonize = true;
  }
  if (close_fds) syscall(SYS_close_range, 3U, ~0U, 0U);
  if (daemonize) {
    if (fork() != 0) _exit(0);  // the task's first process ends here
    setsid();
    if (fork() != 0) _exit(0);
    const int null_fd = open("/dev/null", O_RDWR);
    for (int fd = 0; fd <= 2; ++fd) dup2(null_fd, fd);
  }
  if (print_args) {
    nlohmann::json args = nlohmann::json::array();
    for (int i = 1; i < argc; ++i) args.push_back(argv[i]);
    std::printf("%s\n", nlohmann::json{{"args", args}}.dump().c_str());
    return 0;
  }
  const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
  g_device = visible != nullptr ? visible : "";
  signal(SIGTERM, ignore_term ? SIG_IGN : OnTerm);
  // Its stdout goes to a migctl that may have been killed: a write then fails, and the end is still logged
  // (a SIGPIPE death would leave its interval open for the lease audit).
  signal(SIGPIPE, SIG_IGN);
  LogLine("start");
  nlohmann::json report = LookUp(g_device);
  for (const char* name :
       {"MIGCTL_WORKER", "MIGCTL_DEVICE", "MIGCTL_PROFILE", "MIGCTL_TASK_ID", "MIGCTL_GPU",
        "CUDA_MPS_PIPE_DIRECTORY", "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE", "CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"}) {
    const char* v = std::getenv(name);
    if (v != nullptr) report[name] = v;
  }
  if (sleep_ms > 0) {
    timespec ts{sleep_ms / 1000, static_cast<long>(sleep_ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
  }
  std::printf("working\n%s\n", report.dump().c_str());
  std::fflush(stdout);
  LogLine("end");
  if (crash) abort();
  return exit_status;
}
