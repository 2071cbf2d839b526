#include "sim/handles.h"

namespace migctl::sim {

const Handle* HandleRegistry::Intern(HandleKind kind, unsigned gpu, unsigned gi, unsigned ci) {
  std::unique_ptr<Handle>& slot = by_key_[{kind, gpu, gi, ci}];
  if (!slot) {
    slot = std::make_unique<Handle>(Handle{kind, gpu, gi, ci});
    issued_.insert(slot.get());
  }
  return slot.get();
}

const Handle* HandleRegistry::Find(const void* pointer) const {
  return issued_.contains(pointer) ? static_cast<const Handle*>(pointer) : nullptr;
}

}  // namespace migctl::sim
