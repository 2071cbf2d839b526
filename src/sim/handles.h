// The opaque handles libmigsim gives NVML clients (nvmlDevice_t, nvmlGpuInstance_t, nvmlComputeInstance_t).
#pragma once

#include <map>
#include <memory>
#include <tuple>
#include <unordered_set>

namespace migctl::sim {

enum class HandleKind {
  kDevice,           ///< A whole GPU (nvmlDevice_t).
  kMigDevice,        ///< A MIG device, i.e. one compute instance seen as an nvmlDevice_t.
  kGpuInstance,      ///< nvmlGpuInstance_t.
  kComputeInstance,  ///< nvmlComputeInstance_t.
};

/// What a handle names. gi/ci are 0 where the kind has none. The handle names a slot, not an instance's life:
/// a GI destroyed and recreated with the same id is reached through the same handle, as NVML documents
/// ("handles may be reused").
struct Handle {
  HandleKind kind;
  unsigned gpu;
  unsigned gi;
  unsigned ci;
};

/// Interns handles so a key always yields the same pointer, valid for the life of the process (never freed),
/// and recognizes pointers it issued without dereferencing anything else. Not thread-safe; callers serialize.
class HandleRegistry {
 public:
  const Handle* Intern(HandleKind kind, unsigned gpu, unsigned gi = 0, unsigned ci = 0);

  /// The handle at `pointer` when this registry issued it; nullptr for any other pointer.
  const Handle* Find(const void* pointer) const;

 private:
  std::map<std::tuple<HandleKind, unsigned, unsigned, unsigned>, std::unique_ptr<Handle>> by_key_;
  std::unordered_set<const void*> issued_;
};

}  // namespace migctl::sim
