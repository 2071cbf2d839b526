#include "sim/uuid.h"

#include <cstdio>

namespace migctl::sim {
namespace {

std::uint64_t Mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// Formats 128 bits as 8-4-4-4-12 lower-case hex.
std::string FormatUuid(const char* prefix, std::uint64_t hi, std::uint64_t lo) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s%08llx-%04llx-%04llx-%04llx-%012llx", prefix,
                static_cast<unsigned long long>(hi >> 32),
                static_cast<unsigned long long>((hi >> 16) & 0xffff),
                static_cast<unsigned long long>(hi & 0xffff), static_cast<unsigned long long>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}

}  // namespace

std::uint64_t Hash64(const std::string& text, std::uint64_t salt) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) h = (h ^ c) * 0x100000001b3ULL;
  return Mix(h ^ Mix(salt));
}

std::string MakeGpuUuid(std::uint64_t seed, unsigned index) {
  std::string name = "gpu/" + std::to_string(seed) + "/" + std::to_string(index);
  return FormatUuid("GPU-", Hash64(name, 1), Hash64(name, 2));
}

std::string MakeMigUuid(const std::string& gpu_uuid, unsigned gi_id, unsigned ci_id, std::uint64_t serial) {
  std::string name =
      gpu_uuid + "/" + std::to_string(gi_id) + "/" + std::to_string(ci_id) + "/" + std::to_string(serial);
  std::uint64_t hi = (Hash64(name, 3) & ~0xf000ULL) | 0x5000ULL;            // version 5
  std::uint64_t lo = (Hash64(name, 4) & ~(0xcULL << 60)) | (0x8ULL << 60);  // variant 10xx
  return FormatUuid("MIG-", hi, lo);
}

}  // namespace migctl::sim
