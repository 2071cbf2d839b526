#include "mps/client_limits.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>

#include <fmt/format.h>

namespace migctl::mps {
namespace {

/// A whole decimal number, all of `text`, no sign.
std::optional<unsigned long long> WholeNumber(std::string_view text) {
  unsigned long long value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

std::vector<std::string> ClientEnvironment(const DaemonDirs& dirs, const ClientLimits& limits) {
  std::vector<std::string> env = {"CUDA_MPS_PIPE_DIRECTORY=" + dirs.pipe_dir,
                                  "CUDA_MPS_LOG_DIRECTORY=" + dirs.log_dir};
  if (limits.active_thread_percentage)
    env.push_back(fmt::format("CUDA_MPS_ACTIVE_THREAD_PERCENTAGE={}", *limits.active_thread_percentage));
  if (limits.pinned_memory_mib)
    env.push_back(fmt::format("CUDA_MPS_PINNED_DEVICE_MEM_LIMIT=0={}M", *limits.pinned_memory_mib));
  return env;
}

Result<unsigned> ParseThreadPercentage(std::string_view text, unsigned clients_per_gpu) {
  if (text == "auto") return std::max(1u, 100u / std::max(1u, clients_per_gpu));
  std::optional<unsigned long long> value = WholeNumber(text);
  if (!value || *value < 1 || *value > 100)
    return MakeError(
        ErrorCode::kInvalidInput,
        fmt::format("thread percentage '{}' is not valid: give 'auto' or a whole number from 1 to 100",
                    text));
  return static_cast<unsigned>(*value);
}

}  // namespace migctl::mps
