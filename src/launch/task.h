// A task: one command to run on one worker, and what a worker's device must offer to run it.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace migctl {

/// What a task needs from the device it runs on. Empty: any device.
struct TaskNeeds {
  std::optional<unsigned long long> memory_mib;  ///< At least this much device memory.
  std::optional<std::string> profile;            ///< Exactly this GI profile name (`3g.40gb`).
  bool operator==(const TaskNeeds&) const = default;
};

struct Task {
  unsigned id = 0;      ///< 1-based, in submission order; stable for the same task list (resume keys on it).
  std::string command;  ///< The command as one line, for people and for matching on resume.
  std::vector<std::string> argv;              ///< What is executed (no shell unless argv is `/bin/sh -c`).
  std::map<std::string, std::string> params;  ///< The sweep values this task got (`lr` -> `1e-3`).
  TaskNeeds needs;
  bool operator==(const Task&) const = default;
};

}  // namespace migctl
