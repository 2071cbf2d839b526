// libFuzzer target for spec/: ParseConfig on arbitrary bytes must return a value or a well-formed error,
// never crash, hang or break its own invariants. Build and run: fuzz/README.md.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "spec/config.h"
#include "spec/device_match.h"

namespace {

using migctl::ErrorCode;
namespace spec = migctl::spec;

void Require(bool condition, const char* what) {
  if (condition) return;
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}

/// `fuzz.yaml:LINE:COLUMN: ` with both numbers positive, then one line of text.
void CheckMessage(const std::string& message) {
  std::string_view rest = message;
  Require(rest.starts_with("fuzz.yaml:"), "error message starts with the path");
  rest.remove_prefix(10);
  for (int field = 0; field < 2; ++field) {
    size_t digits = rest.find_first_not_of("0123456789");
    Require(digits != 0 && digits != std::string_view::npos && rest[0] != '0',
            "line and column are positive");
    Require(rest[digits] == ':', "line:column: follows the path");
    rest.remove_prefix(digits + 1);
  }
  Require(rest.starts_with(' ') && rest.size() > 1, "a message follows the position");
  Require(message.find('\n') == std::string::npos, "the message is one line");
}

void CheckProfile(const spec::ProfileName& profile) {
  Require(!profile.text.empty() && !profile.gi_name.empty(), "profile names are non-empty");
  Require(profile.ci_slices >= 1 && profile.ci_slices <= profile.gi_slices && profile.memory_gb >= 1,
          "1 <= C <= G and GB >= 1");
  auto again = spec::ParseProfileName(profile.text);
  Require(again.ok() && again->Canonical() == profile.Canonical(), "a parsed profile name parses again");
}

void CheckPos(spec::SourcePos pos) { Require(pos.line >= 1 && pos.column >= 1, "positions are known"); }

void CheckSpec(const spec::MigConfigSpec& s) {
  CheckPos(s.pos);
  Require(!(s.all_devices && !s.devices.empty()), "'all' has no device list");
  Require(s.mig_enabled || (s.mig_devices.empty() && s.mig_instances.empty()), "no instances with MIG off");
  Require(!(s.uses_instances && !s.mig_devices.empty()), "mig-devices and mig-instances exclude each other");
  bool any_nonzero = s.mig_devices.empty();
  for (const auto& count : s.mig_devices) {
    CheckProfile(count.profile);
    CheckPos(count.pos);
    any_nonzero = any_nonzero || count.count > 0;
  }
  Require(any_nonzero, "not every count is 0");
  for (const auto& device : s.devices) {
    CheckPos(device.pos);
    Require(device.index.has_value() != !device.selector.empty(), "a device is an index or a selector");
  }
  for (const auto& instance : s.mig_instances) {
    CheckProfile(instance.profile);
    Require(!instance.profile.has_ci_part, "GPU instances have no c. part");
    if (!instance.compute_instances) continue;
    for (const auto& ci : *instance.compute_instances) {
      CheckProfile(ci.profile);
      Require(ci.profile.gi_name == instance.profile.gi_name, "a CI belongs to its GI");
    }
  }
}

/// Two A100-80GB GPUs and one GPU without MIG, for AssignDevices.
std::vector<spec::HostGpu> Host() {
  return {{migctl::GpuIndex(0), migctl::GpuUuid("GPU-3ecd459c-0b85-7603-9390-03076bf3f151"),
           "00000000:3B:00.0", 0x20B2, 0x10DE, 0x147E, 0x10DE, true},
          {migctl::GpuIndex(1), migctl::GpuUuid("GPU-9ce1ef66-8d1b-ee6c-d33e-b9d14cd2ca95"),
           "00000000:86:00.0", 0x20B2, 0x10DE, std::nullopt, std::nullopt, true},
          {migctl::GpuIndex(2), migctl::GpuUuid("GPU-11111111-0b85-7603-9390-03076bf3f151"),
           "00000000:AF:00.0", 0x1DB6, 0x10DE, std::nullopt, std::nullopt, false}};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto file = spec::ParseConfig(text, "fuzz.yaml");
  if (!file.ok()) {
    Require(file.error().code == ErrorCode::kInvalidInput, "parse errors are kInvalidInput");
    CheckMessage(file.error().message);
    return 0;
  }
  Require(!file->configs.empty(), "a parsed file has a layout");
  if (auto only = spec::SelectConfig(*file, ""); !only.ok())
    Require(file->configs.size() > 1 && only.error().message.find('\n') == std::string::npos,
            "an empty label fails only with several layouts, on one line");
  static const std::vector<spec::HostGpu> host = Host();
  for (const auto& config : file->configs) {
    Require(!config.label.empty(), "labels are non-empty");
    Require(!config.specs.empty(), "layouts are non-empty");
    CheckPos(config.pos);
    for (const auto& s : config.specs) CheckSpec(s);
    Require(config.label.find('\n') == std::string::npos, "labels are one line");
    auto selected = spec::SelectConfig(*file, config.label);
    Require(selected.ok() && (*selected)->label == config.label, "every label can be selected");
    auto assignment = spec::AssignDevices(*file, config, host);
    if (!assignment.ok()) {
      Require(assignment.error().code == ErrorCode::kInvalidInput, "assignment errors are kInvalidInput");
      CheckMessage(assignment.error().message);
      continue;
    }
    Require(!assignment->gpus.empty(), "an assignment selects a GPU");
    for (size_t i = 1; i < assignment->gpus.size(); ++i)
      Require(assignment->gpus[i - 1].gpu < assignment->gpus[i].gpu, "assigned GPUs are sorted and unique");
  }
  return 0;
}
