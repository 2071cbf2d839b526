#include "common/task_cgroup.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "common/file_io.h"
#include "common/task_tree.h"

namespace migctl {
namespace {

struct Hierarchy {
  TreeTracking kind = TreeTracking::kSubreaper;
  std::string mount;  ///< Where it is mounted.
  std::string own;    ///< migctl's cgroup in it (`/` or `/a/b`).
};

/// The cgroup hierarchies mounted here that can hold a task: v2 first, then v1 `pids`.
std::optional<Hierarchy> FindHierarchy(std::string* why) {
  Result<std::string> mountinfo = ReadFile("/proc/self/mountinfo", 1 << 20);
  Result<std::string> own = ReadFile("/proc/self/cgroup", 1 << 16);
  if (!mountinfo.ok() || !own.ok()) {
    *why = "cannot read /proc/self/mountinfo or /proc/self/cgroup";
    return std::nullopt;
  }
  std::optional<Hierarchy> v2, v1;
  std::istringstream lines(*mountinfo);
  for (std::string line; std::getline(lines, line);) {
    // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS
    std::istringstream words(line);
    std::string id, parent, dev, root, mountpoint, options, word;
    words >> id >> parent >> dev >> root >> mountpoint >> options;
    while (words >> word && word != "-") {
    }
    std::string fstype, source, super;
    words >> fstype >> source >> super;
    if (root != "/") continue;  // a bind mount of a sub-tree: paths below would not line up
    if (fstype == "cgroup2" && !v2) v2 = Hierarchy{TreeTracking::kCgroupV2, mountpoint, ""};
    if (fstype == "cgroup" && !v1 && ("," + super + ",").find(",pids,") != std::string::npos)
      v1 = Hierarchy{TreeTracking::kCgroupV1, mountpoint, ""};
  }
  std::istringstream cg(*own);
  for (std::string line; std::getline(cg, line);) {
    // HIERARCHY-ID:CONTROLLERS:PATH
    const size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    if (line.compare(0, a, "0") == 0 && controllers.empty() && v2) v2->own = path;
    if (v1 && ("," + controllers + ",").find(",pids,") != std::string::npos) v1->own = path;
  }
  if (v2 && !v2->own.empty()) return v2;
  if (v1 && !v1->own.empty()) return v1;
  *why = "no cgroup v2 tree or v1 pids hierarchy is mounted";
  return std::nullopt;
}

std::string Join(const Hierarchy& h) { return h.mount + (h.own == "/" ? "" : h.own); }

/// Removes `migctl-run-PID-START` directories under `base` whose run has ended (empty ones only).
void RemoveStaleRuns(const std::string& base) {
  DIR* dir = ::opendir(base.c_str());
  if (dir == nullptr) return;
  std::vector<std::string> stale;
  while (dirent* e = ::readdir(dir)) {
    long long pid = 0;
    unsigned long long start = 0;
    if (std::sscanf(e->d_name, "migctl-run-%lld-%llu", &pid, &start) != 2) continue;
    if (!StillRuns({static_cast<pid_t>(pid), start})) stale.push_back(base + "/" + e->d_name);
  }
  ::closedir(dir);
  for (const std::string& run : stale) {
    if (DIR* d = ::opendir(run.c_str())) {
      std::vector<std::string> workers;
      while (dirent* e = ::readdir(d))
        if (std::strncmp(e->d_name, "worker-", 7) == 0) workers.push_back(run + "/" + e->d_name);
      ::closedir(d);
      for (const std::string& w : workers) ::rmdir(w.c_str());
    }
    ::rmdir(run.c_str());
  }
}

}  // namespace

std::string DescribeTreeTracking(TreeTracking kind, const std::string& detail) {
  switch (kind) {
    case TreeTracking::kCgroupV2:
      return fmt::format("a cgroup v2 per task ({})", detail);
    case TreeTracking::kCgroupV1:
      return fmt::format("a cgroup v1 per task ({})", detail);
    case TreeTracking::kSubreaper:
      break;
  }
  return fmt::format("the process tree only, through a subreaper (no usable cgroup: {})", detail);
}

TreeTracking ProbeTreeTracking(std::string* detail) {
  std::string why;
  std::optional<Hierarchy> h = FindHierarchy(&why);
  if (!h) {
    *detail = why;
    return TreeTracking::kSubreaper;
  }
  const std::string base = Join(*h);
  if (::access(base.c_str(), W_OK) != 0) {
    *detail = fmt::format("{} is not writable by uid {}", base, ::geteuid());
    return TreeTracking::kSubreaper;
  }
  *detail = base;
  return h->kind;
}

TaskCgroups TaskCgroups::Create(unsigned count) {
  TaskCgroups out;
  std::optional<Hierarchy> h = FindHierarchy(&out.why_);
  if (!h) return out;
  const std::string base = Join(*h);
  RemoveStaleRuns(base);
  const pid_t self = ::getpid();
  const std::string run = fmt::format("{}/migctl-run-{}-{}", base, self, ProcessStartTime(self));
  if (::mkdir(run.c_str(), 0755) != 0 && errno != EEXIST) {
    out.why_ = fmt::format("cannot make {}: {}", run, std::strerror(errno));
    return out;
  }
  out.run_dir_ = run;
  for (unsigned i = 0; i < count; ++i) {
    const std::string dir = fmt::format("{}/worker-{}", run, i);
    if ((::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) ||
        ::access((dir + "/cgroup.procs").c_str(), W_OK) != 0) {
      out.why_ = fmt::format("cannot use {}: {}", dir, std::strerror(errno));
      out.dirs_.push_back(dir);  // removed with the others
      out.Remove();
      return out;
    }
    out.dirs_.push_back(dir);
  }
  out.kind_ = h->kind;
  out.why_ = base;
  return out;
}

TaskCgroups::TaskCgroups(TaskCgroups&& other) noexcept
    : kind_(other.kind_),
      why_(std::move(other.why_)),
      run_dir_(std::move(other.run_dir_)),
      dirs_(std::move(other.dirs_)) {
  other.run_dir_.clear();
  other.dirs_.clear();
}

TaskCgroups::~TaskCgroups() { Remove(); }

void TaskCgroups::Remove() {
  for (const std::string& dir : dirs_) ::rmdir(dir.c_str());
  if (!run_dir_.empty()) ::rmdir(run_dir_.c_str());
  dirs_.clear();
  run_dir_.clear();
}

std::string TaskCgroups::Dir(unsigned index) const {
  if (kind_ == TreeTracking::kSubreaper || index >= dirs_.size()) return "";
  return dirs_[index];
}

}  // namespace migctl
