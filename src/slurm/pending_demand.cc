#include "slurm/pending_demand.h"

#include <charconv>

namespace migctl::slurm {
namespace {

std::vector<std::string_view> Split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  for (size_t begin = 0;;) {
    const size_t at = text.find(sep, begin);
    out.push_back(text.substr(begin, at == std::string_view::npos ? at : at - begin));
    if (at == std::string_view::npos) return out;
    begin = at + 1;
  }
}

}  // namespace

std::vector<std::string> PendingGresArgv() { return {"squeue", "-h", "-r", "-t", "PENDING", "-o", "%i|%b"}; }

std::map<std::string, unsigned> PendingGpuTypes(std::string_view squeue_output) {
  std::map<std::string, unsigned> types;
  for (std::string_view line : Split(squeue_output, '\n')) {
    const size_t bar = line.find('|');
    if (bar == std::string_view::npos) continue;
    for (std::string_view entry : Split(line.substr(bar + 1), ',')) {
      for (std::string_view prefix : {"gres:", "gres/"})
        if (entry.starts_with(prefix)) entry.remove_prefix(prefix.size());
      const std::vector<std::string_view> parts = Split(entry, ':');
      if (parts.size() < 2 || parts.size() > 3 || parts[0] != "gpu" || parts[1].empty()) continue;
      unsigned count = 1;
      if (parts.size() == 3) {
        const char* end = parts[2].data() + parts[2].size();
        auto [ptr, ec] = std::from_chars(parts[2].data(), end, count);
        if (ec != std::errc() || ptr != end) continue;
      } else if (!parts[1].empty() && parts[1].find_first_not_of("0123456789") == std::string_view::npos) {
        continue;  // gpu:N: no type
      }
      types[std::string(parts[1])] += count;
    }
  }
  return types;
}

}  // namespace migctl::slurm
