#include "spec/workloads_file.h"

#include <set>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "common/file_io.h"
#include "common/memory_size.h"

namespace migctl::spec {
namespace {

SourcePos PosOf(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  return {static_cast<unsigned>(mark.line + 1), static_cast<unsigned>(mark.column + 1)};
}

class Parser {
 public:
  explicit Parser(std::string_view path) : path_(path) {}

  Error Bad(const YAML::Node& at, const std::string& what) const {
    const SourcePos pos = PosOf(at);
    return MakeError(ErrorCode::kInvalidInput,
                     fmt::format("{}:{}:{}: {}", path_, pos.line, pos.column, what));
  }

  Result<unsigned> Whole(const YAML::Node& node, const char* key, unsigned min) const {
    if (!node.IsScalar()) return Bad(node, fmt::format("'{}' must be a whole number", key));
    const std::string& text = node.Scalar();
    unsigned long long value = 0;
    size_t used = 0;
    try {
      value = std::stoull(text, &used);
    } catch (...) {
      used = 0;
    }
    if (used == 0 || used != text.size() || value < min || value > 1000000)
      return Bad(node, fmt::format("'{}: {}' is not a whole number from {} to 1000000", key, text, min));
    return static_cast<unsigned>(value);
  }

  Result<WorkloadEntry> Entry(const YAML::Node& node) const {
    if (!node.IsMap()) return Bad(node, "a workload must be a mapping (name:, memory: or profile:, count:)");
    WorkloadEntry e;
    e.pos = PosOf(node);
    bool named = false;
    for (const auto& kv : node) {
      const std::string key = kv.first.Scalar();
      const YAML::Node& value = kv.second;
      if (key == "name") {
        if (!value.IsScalar() || value.Scalar().empty())
          return Bad(value, "'name' must be a non-empty string");
        e.name = value.Scalar();
        named = true;
      } else if (key == "memory") {
        if (!value.IsScalar()) return Bad(value, "'memory' must be a size such as 30GiB");
        Result<unsigned long long> mib = ParseMemoryMib(value.Scalar());
        if (!mib.ok()) return Bad(value, mib.error().message);
        e.memory_mib = *mib;
      } else if (key == "compute") {
        MIGCTL_ASSIGN_OR_RETURN(unsigned slices, Whole(value, "compute", 1));
        e.compute_slices = slices;
      } else if (key == "profile") {
        if (!value.IsScalar() || value.Scalar().empty())
          return Bad(value, "'profile' must be a profile name");
        e.profile = value.Scalar();
      } else if (key == "count") {
        MIGCTL_ASSIGN_OR_RETURN(e.count, Whole(value, "count", 1));
      } else if (key == "priority") {
        MIGCTL_ASSIGN_OR_RETURN(e.priority, Whole(value, "priority", 0));
      } else if (key == "models") {
        if (value.IsScalar()) {
          e.models.push_back(value.Scalar());
        } else if (value.IsSequence()) {
          for (const YAML::Node& m : value) {
            if (!m.IsScalar()) return Bad(m, "'models' lists model names such as a100-80gb");
            e.models.push_back(m.Scalar());
          }
        } else {
          return Bad(value, "'models' lists model names such as a100-80gb");
        }
      } else {
        return Bad(kv.first,
                   fmt::format("unknown key '{}': use name, memory, compute, profile, count, priority, "
                               "models",
                               key));
      }
    }
    if (!named) return Bad(node, "a workload needs a 'name'");
    if (e.profile && (e.memory_mib || e.compute_slices))
      return Bad(
          node, fmt::format("workload '{}': give 'profile', or 'memory' and/or 'compute', not both", e.name));
    if (!e.profile && !e.memory_mib && !e.compute_slices)
      return Bad(node, fmt::format("workload '{}' needs 'memory', 'compute' or 'profile'", e.name));
    return e;
  }

 private:
  std::string path_;
};

}  // namespace

Result<std::vector<WorkloadEntry>> ParseWorkloadsFile(std::string_view text, std::string_view path) {
  Parser parser(path);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return MakeError(ErrorCode::kInvalidInput,
                     fmt::format("{}:{}:{}: {}", path, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  if (!root.IsMap() || !root["workloads"])
    return MakeError(ErrorCode::kInvalidInput,
                     fmt::format("{}: expected a 'workloads:' list (see 'migctl plan --help')", path));
  const YAML::Node list = root["workloads"];
  if (!list.IsSequence() || list.size() == 0) return parser.Bad(list, "'workloads' must be a non-empty list");
  for (const auto& kv : root)
    if (kv.first.Scalar() != "workloads")
      return parser.Bad(
          kv.first, fmt::format("unknown key '{}': the file holds one 'workloads:' list", kv.first.Scalar()));
  std::vector<WorkloadEntry> out;
  std::set<std::string> names;
  for (const YAML::Node& node : list) {
    MIGCTL_ASSIGN_OR_RETURN(WorkloadEntry e, parser.Entry(node));
    if (!names.insert(e.name).second)
      return parser.Bad(node, fmt::format("workload '{}' is named twice: names must be unique", e.name));
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<WorkloadEntry>> LoadWorkloadsFile(const std::string& path) {
  Result<std::string> text = ReadFile(path);
  if (!text.ok()) return text.error();
  return ParseWorkloadsFile(*text, path);
}

}  // namespace migctl::spec
