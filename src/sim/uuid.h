// Simulated GPU and MIG UUIDs, deterministic so a machine's identity is reproducible from its state.
#pragma once

#include <cstdint>
#include <string>

namespace migctl::sim {

/// `GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` for GPU `index` of a machine created with `seed`.
std::string MakeGpuUuid(std::uint64_t seed, unsigned index);

/// `MIG-xxxxxxxx-xxxx-5xxx-[89ab]xxx-xxxxxxxxxxxx`, shaped like the v5 UUIDs real drivers (R470+) report.
/// Real drivers use SHA-1 over unknown inputs; this is a non-cryptographic 128-bit hash of the GPU UUID, GI
/// id, CI id and the GPU's creation serial, so a UUID is stable for an instance's life and a recreated
/// instance gets a new one.
std::string MakeMigUuid(const std::string& gpu_uuid, unsigned gi_id, unsigned ci_id, std::uint64_t serial);

/// A 64-bit FNV-1a hash of `text` mixed with `salt` (splitmix64 finalizer): spreads well, not cryptographic.
std::uint64_t Hash64(const std::string& text, std::uint64_t salt);

}  // namespace migctl::sim
