#include "integrations/host_blockers.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "common/file_io.h"
#include "common/process_host.h"
#include "integrations/mig_manager_service.h"

namespace migctl::integrations {
namespace {

namespace fs = std::filesystem;

/// A program that matters to a MIG change, recognised by its name.
struct Program {
  const char* name;
  bool prefix;  ///< Every program whose name starts with `name` (NVSM runs several: nvsm-core, ...).
  BlockerKind kind;
  const char* what;
  const char* why;
  const char* fix;
};

constexpr const char* kHoldsGpus =
    "keeps the GPUs open through NVML: a MIG mode change cannot take effect (the reset fails with \"In use "
    "by another client\")";

// In the order of the header's comment.
constexpr Program kPrograms[] = {
    {"nv-hostengine", false, BlockerKind::kBlocksModeChange, "DCGM host engine (nv-hostengine)", kHoldsGpus,
     "systemctl stop nvidia-dcgm (dcgm before DCGM 4); start it again after the change"},
    {"nvsm", true, BlockerKind::kBlocksModeChange, "NVIDIA System Management (nvsm)", kHoldsGpus,
     "systemctl stop nvsm; start it again after the change"},
    {"dcgm-exporter", false, BlockerKind::kBlocksModeChange, "dcgm-exporter", kHoldsGpus,
     "systemctl stop dcgm-exporter, or with GPU Operator label the node "
     "nvidia.com/gpu.deploy.dcgm-exporter=false"},
    {"nvidia-device-plugin", false, BlockerKind::kBlocksModeChange, "Kubernetes NVIDIA device plugin",
     kHoldsGpus,
     "with GPU Operator label the node nvidia.com/gpu.deploy.device-plugin=false, else stop its pod"},
    {"gpu-feature-discovery", false, BlockerKind::kBlocksModeChange, "gpu-feature-discovery", kHoldsGpus,
     "with GPU Operator label the node nvidia.com/gpu.deploy.gpu-feature-discovery=false, else stop its "
     "pod"},
    {"nvidia-persistenced", false, BlockerKind::kNote, "NVIDIA persistence daemon (nvidia-persistenced)",
     "does not block a MIG change: it lets go of the GPUs when the driver resets them",
     "nothing to do; leave it running"},
    {"nvidia-mig-manager", false, BlockerKind::kConflict, "GPU Operator's MIG manager (nvidia-mig-manager)",
     "re-applies the layout named by the node label nvidia.com/mig.config whenever the label changes or it "
     "restarts, undoing ours",
     "manage MIG with one tool: set migManager.enabled=false in the ClusterPolicy, or leave MIG to it"},
};

/// The whole file, or nullopt when it cannot be read (see the class comment: absent).
std::optional<std::string> ReadIfPresent(const std::string& path) {
  Result<std::string> text = ReadFile(path);
  return text.ok() ? std::optional<std::string>(std::move(text).value()) : std::nullopt;
}

/// A process's program name: /proc/PID/comm, which the kernel cuts to 15 bytes; when it is cut, the base
/// name of argv[0] it abbreviates (nvidia-persistenced's comm is `nvidia-persiste`).
std::optional<std::string> ProgramName(const std::string& proc_dir) {
  std::optional<std::string> comm = ReadIfPresent(proc_dir + "/comm");
  if (!comm) return std::nullopt;
  while (!comm->empty() && (comm->back() == '\n' || comm->back() == '\r')) comm->pop_back();
  constexpr size_t kCommLength = 15;
  if (comm->size() < kCommLength) return comm;
  std::optional<std::string> cmdline = ReadIfPresent(proc_dir + "/cmdline");
  if (!cmdline) return comm;
  std::string base = ProgramOf(*cmdline);
  return base.starts_with(*comm) ? base : *comm;
}

bool Matches(const Program& program, std::string_view name) {
  return program.prefix ? name.starts_with(program.name) : name == program.name;
}

bool IsNumber(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

bool IsHex(std::string_view s, size_t min_digits, size_t max_digits) {
  return s.size() >= min_digits && s.size() <= max_digits &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isxdigit(c); });
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

const char* BlockerKindName(BlockerKind kind) {
  switch (kind) {
    case BlockerKind::kBlocksModeChange:
      return "blocks_mode_change";
    case BlockerKind::kNoReset:
      return "no_reset";
    case BlockerKind::kConflict:
      return "conflict";
    case BlockerKind::kNote:
      return "note";
  }
  return "note";
}

Result<std::string> SysfsPciAddress(std::string_view bus_id) {
  auto invalid = [&] {
    return MakeError(ErrorCode::kInvalidInput,
                     fmt::format("'{}' is not a PCI bus id (DOMAIN:BUS:DEVICE.FUNCTION, e.g. "
                                 "00000000:3B:00.0)",
                                 bus_id));
  };
  const size_t colon1 = bus_id.find(':');
  const size_t colon2 = bus_id.find(':', colon1 == std::string_view::npos ? colon1 : colon1 + 1);
  const size_t dot = bus_id.find('.', colon2 == std::string_view::npos ? colon2 : colon2 + 1);
  if (colon1 == std::string_view::npos || colon2 == std::string_view::npos || dot == std::string_view::npos)
    return invalid();
  std::string_view domain = bus_id.substr(0, colon1), bus = bus_id.substr(colon1 + 1, colon2 - colon1 - 1),
                   device = bus_id.substr(colon2 + 1, dot - colon2 - 1), function = bus_id.substr(dot + 1);
  if (!IsHex(domain, 4, 8) || !IsHex(bus, 2, 2) || !IsHex(device, 2, 2) || !IsHex(function, 1, 1))
    return invalid();
  const unsigned long domain_number = std::strtoul(std::string(domain).c_str(), nullptr, 16);
  return fmt::format("{:04x}:{}:{}.{}", domain_number, Lower(bus), Lower(device), Lower(function));
}

HostProbe::HostProbe(std::string root) : root_(std::move(root)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

HostProbe HostProbe::FromEnvironment() {
  const char* root = std::getenv("MIGCTL_HOST_ROOT");
  return HostProbe(root != nullptr && *root != '\0' ? root : "/");
}

std::string HostProbe::Path(std::string_view relative) const {
  return root_ == "/" ? "/" + std::string(relative) : root_ + "/" + std::string(relative);
}

Result<std::optional<bool>> HostProbe::PciResetAvailable(std::string_view nvml_bus_id) const {
  MIGCTL_ASSIGN_OR_RETURN(std::string address, SysfsPciAddress(nvml_bus_id));
  std::error_code ec;
  const std::string device = Path("sys/bus/pci/devices/" + address);
  if (!fs::exists(device, ec)) return std::optional<bool>();
  return std::optional<bool>(fs::exists(device + "/reset", ec));
}

Result<std::vector<Blocker>> HostProbe::Probe(const std::vector<std::string>& gpu_bus_ids) const {
  std::error_code ec;
  if (!fs::is_directory(root_, ec))
    return MakeError(ErrorCode::kNotFound,
                     fmt::format("host root {} is not a directory (check MIGCTL_HOST_ROOT)", root_));
  std::vector<Blocker> found;

  if (std::optional<std::string> modules = ReadIfPresent(Path("proc/modules"))) {
    std::istringstream lines(*modules);
    for (std::string line; std::getline(lines, line);) {
      if (line.substr(0, line.find(' ')) != "nvidia_drm") continue;
      found.push_back(
          {BlockerKind::kBlocksModeChange,
           "nvidia_drm kernel module",
           {},
           "",
           "the DRM driver keeps the GPUs open: the reset that activates a MIG mode change fails "
           "with \"In use by another client\"",
           "rmmod nvidia_drm (stop the display manager first if one uses it); modprobe nvidia_drm "
           "after the change"});
    }
  }

  std::map<const Program*, std::vector<int>> pids;
  for (const fs::directory_entry& entry : fs::directory_iterator(Path("proc"), ec)) {
    const std::string pid = entry.path().filename().string();
    if (!IsNumber(pid)) continue;
    std::optional<std::string> name = ProgramName(entry.path().string());
    if (!name) continue;
    for (const Program& program : kPrograms)
      if (Matches(program, *name)) pids[&program].push_back(std::stoi(pid));
  }
  for (const Program& program : kPrograms) {
    auto it = pids.find(&program);
    if (it == pids.end()) continue;
    std::sort(it->second.begin(), it->second.end());
    found.push_back({program.kind, program.what, it->second, "", program.why, program.fix});
  }

  for (const std::string& bus_id : gpu_bus_ids) {
    MIGCTL_ASSIGN_OR_RETURN(std::optional<bool> reset, PciResetAvailable(bus_id));
    if (reset.value_or(true)) continue;
    found.push_back({BlockerKind::kNoReset,
                     fmt::format("GPU {} offers no PCI reset", bus_id),
                     {},
                     bus_id,
                     "a pending MIG mode change on it takes effect only after a reboot (typical of "
                     "passthrough VMs)",
                     "set the mode, then reboot the host (VM)"});
  }

  if (ReadMigManagerService(root_).enabled())
    found.push_back({BlockerKind::kConflict,
                     "nvidia-mig-manager.service (mig-parted) is enabled",
                     {},
                     "",
                     "it re-applies its own layout (MIG_PARTED_SELECTED_CONFIG) at every boot, undoing ours",
                     "systemctl disable nvidia-mig-manager.service"});
  return found;
}

}  // namespace migctl::integrations
