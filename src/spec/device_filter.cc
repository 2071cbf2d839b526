#include "spec/device_filter.h"

#include <charconv>

#include <fmt/format.h>

#include "spec/quote.h"

namespace migctl::spec {
namespace {

/// `[0x]HHHHHHHH` as a 32-bit id, or nullopt.
std::optional<std::uint32_t> ParseId(std::string_view text) {
  if (text.starts_with("0x") || text.starts_with("0X")) text.remove_prefix(2);
  if (text.size() != 8) return std::nullopt;
  std::uint32_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

Result<DeviceFilter> ParseDeviceFilter(std::string_view text) {
  size_t colon = text.find(':');
  std::string_view primary = text.substr(0, colon);
  std::optional<std::uint32_t> id = ParseId(primary);
  std::optional<std::uint32_t> subsystem;
  if (colon != std::string_view::npos) subsystem = ParseId(text.substr(colon + 1));
  if (!id || (colon != std::string_view::npos && !subsystem)) {
    std::string_view bad = id ? text.substr(colon + 1) : primary;
    return MakeError(
        ErrorCode::kInvalidInput,
        fmt::format("device filter {}: {} is not 8 hex digits; write 0xDDDDVVVV (PCI device id, "
                    "then vendor id, e.g. 0x20B010DE for an A100-SXM4-40GB), optionally followed "
                    "by :0xSSSSVVVV for the subsystem",
                    Quote(text), Quote(bad)));
  }
  DeviceFilter filter;
  filter.text = std::string(text);
  filter.device_id = static_cast<std::uint16_t>(*id >> 16);
  filter.vendor_id = static_cast<std::uint16_t>(*id & 0xffff);
  if (subsystem) {
    filter.subsystem_device_id = static_cast<std::uint16_t>(*subsystem >> 16);
    filter.subsystem_vendor_id = static_cast<std::uint16_t>(*subsystem & 0xffff);
  }
  return filter;
}

}  // namespace migctl::spec
