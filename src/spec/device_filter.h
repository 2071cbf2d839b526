// `device-filter` entries of mig-parted configs: which GPU models a spec applies to, by PCI ids.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "spec/source_pos.h"

namespace migctl::spec {

/// One `device-filter` entry: `0xDDDDVVVV` (PCI device id in the high 16 bits, vendor id in the low 16), with
/// an optional `:0xSSSSVVVV` subsystem part (subsystem device id, subsystem vendor id).
struct DeviceFilter {
  std::string text;  ///< As written.
  std::uint16_t device_id = 0;
  std::uint16_t vendor_id = 0;
  std::optional<std::uint16_t> subsystem_device_id;  ///< Set together with subsystem_vendor_id.
  std::optional<std::uint16_t> subsystem_vendor_id;
  SourcePos pos;
};

/// Parses a filter: each part is exactly 8 hex digits, `0x` optional, any case (`0x20B010DE`, `20b010de`,
/// `0x20B010DE:0x147E10DE`). mig-parted ignores a filter it cannot parse, so that a typo silently matches no
/// GPU; here it is kInvalidInput saying what is wrong. `pos` is left unset.
Result<DeviceFilter> ParseDeviceFilter(std::string_view text);

}  // namespace migctl::spec
