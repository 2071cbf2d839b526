#include "catalog/catalog.h"

#include <strings.h>

#include <algorithm>
#include <string>

#include "catalog/builtin_models.h"

namespace migctl {
namespace {

constexpr unsigned kNvidiaVendorId = 0x10DE;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::string KnownKeys() {
  std::string keys;
  for (const GpuModel& model : BuiltinModels()) keys += (keys.empty() ? "" : ", ") + model.key;
  return keys;
}

}  // namespace

const std::vector<GpuModel>& BuiltinModels() {
  static const std::vector<GpuModel> models = MakeBuiltinModels();
  return models;
}

Result<const GpuModel*> FindModel(std::string_view key) {
  const auto& models = BuiltinModels();
  auto it =
      std::ranges::find_if(models, [&](const GpuModel& model) { return EqualsIgnoreCase(model.key, key); });
  if (it != models.end()) return &*it;
  return MakeError(ErrorCode::kNotFound, "unknown GPU model '" + std::string(key) + "'; known models: " +
                                             KnownKeys() + " (see `migctl layouts --help`)");
}

const GpuModel* IdentifyModel(std::string_view product_name, unsigned pci_device_id) {
  const auto& models = BuiltinModels();
  if ((pci_device_id & 0xFFFF) == kNvidiaVendorId) {
    unsigned device = pci_device_id >> 16;
    auto it = std::ranges::find_if(
        models, [&](const GpuModel& model) { return std::ranges::count(model.pci_device_ids, device) > 0; });
    if (it != models.end()) return &*it;
  }
  auto it = std::ranges::find(models, product_name, &GpuModel::product_name);
  return it == models.end() ? nullptr : &*it;
}

}  // namespace migctl
