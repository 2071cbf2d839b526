#include "common/gpu_selector.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>

#include <fmt/format.h>

namespace migctl {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool ParseUnsigned(std::string_view s, unsigned* out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

bool IsHex(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

}  // namespace

std::string NormalizePciBusId(std::string_view text) {
  // Accepted: [domain:]bus:device.function with hex fields.
  std::string_view rest = text;
  std::string_view domain = "0";
  size_t first = rest.find(':');
  if (first == std::string_view::npos) return "";
  size_t second = rest.find(':', first + 1);
  if (second != std::string_view::npos) {
    domain = rest.substr(0, first);
    rest = rest.substr(first + 1);
  }
  size_t colon = rest.find(':');
  size_t dot = rest.find('.');
  if (colon == std::string_view::npos || dot == std::string_view::npos || dot < colon) return "";
  std::string_view bus = rest.substr(0, colon);
  std::string_view dev = rest.substr(colon + 1, dot - colon - 1);
  std::string_view fn = rest.substr(dot + 1);
  if (!IsHex(domain) || !IsHex(bus) || !IsHex(dev) || !IsHex(fn) || domain.size() > 8 || bus.size() > 2 ||
      dev.size() > 2 || fn.size() > 1)
    return "";
  auto hex = [](std::string_view s) { return std::stoul(std::string(s), nullptr, 16); };
  return fmt::format("{:08X}:{:02X}:{:02X}.{:X}", hex(domain), hex(bus), hex(dev), hex(fn));
}

GpuSelector GpuSelector::All() {
  GpuSelector s;
  s.all_ = true;
  return s;
}

Result<GpuSelector> GpuSelector::Parse(std::string_view text) {
  if (Lower(text) == "all") return All();
  GpuSelector selector;
  size_t pos = 0;
  if (text.empty())
    return MakeError(ErrorCode::kInvalidInput,
                     "empty GPU selection: give indexes (0,2-3), GPU UUIDs, PCI bus ids or 'all'");
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    std::string_view item =
        text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    pos = comma == std::string_view::npos ? text.size() + 1 : comma + 1;
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    Term term{};
    unsigned a = 0, b = 0;
    size_t dash = item.find('-');
    if (ParseUnsigned(item, &a)) {
      term = Term{Term::kIndexRange, a, a, ""};
    } else if (Lower(item).rfind("gpu-", 0) == 0 && item.size() >= 12) {
      term = Term{Term::kUuid, 0, 0, Lower(item)};
    } else if (dash != std::string_view::npos && ParseUnsigned(item.substr(0, dash), &a) &&
               ParseUnsigned(item.substr(dash + 1), &b)) {
      if (b < a)
        return MakeError(ErrorCode::kInvalidInput,
                         fmt::format("GPU range '{}' runs backwards: write {}-{}", item, b, a));
      term = Term{Term::kIndexRange, a, b, ""};
    } else if (std::string pci = NormalizePciBusId(item); !pci.empty()) {
      term = Term{Term::kPci, 0, 0, pci};
    } else {
      return MakeError(
          ErrorCode::kInvalidInput,
          fmt::format("'{}' is not a GPU: use an index (0), a range (0-3), a GPU UUID (GPU-…) or a "
                      "PCI bus id (0000:3b:00.0)",
                      item));
    }
    selector.terms_.push_back(std::move(term));
  }
  return selector;
}

Result<std::vector<GpuIndex>> GpuSelector::Resolve(const std::vector<GpuIdentity>& gpus) const {
  std::set<unsigned> chosen;
  if (all_) {
    for (const auto& g : gpus) chosen.insert(g.index.value());
  }
  for (const Term& term : terms_) {
    switch (term.kind) {
      case Term::kIndexRange:
        for (unsigned i = term.first; i <= term.last; ++i) {
          bool found = std::any_of(gpus.begin(), gpus.end(),
                                   [&](const GpuIdentity& g) { return g.index.value() == i; });
          if (!found)
            return MakeError(
                ErrorCode::kNotFound,
                fmt::format("GPU {} does not exist: this host has {} GPU{} (see 'migctl status')", i,
                            gpus.size(), gpus.size() == 1 ? "" : "s"));
          chosen.insert(i);
        }
        break;
      case Term::kUuid: {
        std::vector<unsigned> hits;
        for (const auto& g : gpus)
          if (Lower(g.uuid.value()).rfind(term.text, 0) == 0) hits.push_back(g.index.value());
        if (hits.empty())
          return MakeError(ErrorCode::kNotFound,
                           fmt::format("no GPU has UUID {} (see 'migctl status')", term.text));
        if (hits.size() > 1)
          return MakeError(
              ErrorCode::kInvalidInput,
              fmt::format("UUID prefix {} matches {} GPUs: give more of it", term.text, hits.size()));
        chosen.insert(hits[0]);
        break;
      }
      case Term::kPci: {
        auto it = std::find_if(gpus.begin(), gpus.end(), [&](const GpuIdentity& g) {
          return NormalizePciBusId(g.pci_bus_id) == term.text;
        });
        if (it == gpus.end())
          return MakeError(ErrorCode::kNotFound,
                           fmt::format("no GPU at PCI bus id {} (see 'migctl status')", term.text));
        chosen.insert(it->index.value());
        break;
      }
    }
  }
  std::vector<GpuIndex> out;
  for (unsigned i : chosen) out.emplace_back(i);
  return out;
}

}  // namespace migctl
