#include "common/task_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <sstream>


namespace migctl {
namespace {

/// Reads up to `size - 1` bytes of `path` into `buf`, NUL-terminated; the length, or -1.
ssize_t ReadSmall(const char* path, char* buf, size_t size) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t got = 0;
  while (got + 1 < size) {
    const ssize_t n = ::read(fd, buf + got, size - 1 - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  buf[got] = '\0';
  return static_cast<ssize_t>(got);
}

/// Writes "/proc/PID/stat" into `buf` (at least 32 bytes) without printf.
void StatPath(pid_t pid, char* buf) {
  std::memcpy(buf, "/proc/", 6);
  const size_t at = AppendDecimal(buf, 6, static_cast<unsigned long long>(pid));
  std::memcpy(buf + at, "/stat", 6);
}

size_t AppendText(char* buf, size_t at, const char* text) {
  const size_t n = std::strlen(text);
  std::memcpy(buf + at, text, n);
  return at + n;
}

bool ParseNumber(const char*& p, unsigned long long& out) {
  while (*p == ' ') ++p;
  if (*p < '0' || *p > '9') return false;
  out = 0;
  while (*p >= '0' && *p <= '9') out = out * 10 + static_cast<unsigned long long>(*p++ - '0');
  return true;
}

/// State, ppid and start time of `pid` from /proc/PID/stat; false when it is gone.
bool ReadStat(pid_t pid, char& state, pid_t& ppid, unsigned long long& start) {
  char path[32];
  StatPath(pid, path);
  char buf[1024];
  if (ReadSmall(path, buf, sizeof buf) <= 0) return false;
  // The command name is in parentheses and may hold anything: fields count from the last ')'.
  const char* p = std::strrchr(buf, ')');
  if (p == nullptr) return false;
  ++p;
  while (*p == ' ') ++p;
  state = *p++;
  unsigned long long field = 0;
  // Fields 4..22 after the state (field 3): ppid is 4, starttime is 22.
  for (int index = 4; index <= 22; ++index) {
    while (*p == ' ') ++p;
    if (*p == '-') ++p;  // negative fields (tty_nr, nice) never precede what we read as signed
    if (!ParseNumber(p, field)) return false;
    if (index == 4) ppid = static_cast<pid_t>(field);
  }
  start = field;
  return true;
}

/// Calls `fn(pid)` for every numeric entry of /proc, without allocating.
template <typename Fn>
void ForEachProcess(Fn fn) {
  const int dir = ::open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return;
  alignas(8) char buf[8192];
  for (;;) {
    const long n = ::syscall(SYS_getdents64, dir, buf, sizeof buf);
    if (n <= 0) break;
    for (long at = 0; at < n;) {
      struct Entry {
        unsigned long long ino;
        long long off;
        unsigned short reclen;
        unsigned char type;
        char name[1];
      };
      const auto* e = reinterpret_cast<const Entry*>(buf + at);
      at += e->reclen;
      const char* p = e->name;
      unsigned long long pid = 0;
      if (!ParseNumber(p, pid) || *p != '\0' || pid == 0) continue;
      fn(static_cast<pid_t>(pid));
    }
  }
  ::close(dir);
}

constexpr size_t kMaxScan = 65536;
// Scratch for Descendants: static so the keeper's stack stays small (each fork has its own copy).
pid_t g_pids[kMaxScan];
pid_t g_parents[kMaxScan];
bool g_mark[kMaxScan];
unsigned g_by_parent[kMaxScan];  // indexes into the arrays above, ordered by parent
pid_t g_queue[kMaxScan];         // pids whose children are still to be found

}  // namespace

unsigned long long ProcessStartTime(pid_t pid) {
  char state = 0;
  pid_t ppid = 0;
  unsigned long long start = 0;
  if (pid <= 0 || !ReadStat(pid, state, ppid, start) || state == 'Z' || state == 'X') return 0;
  return start;
}

bool StillRuns(const ProcStamp& stamp) {
  return stamp.pid > 0 && stamp.start != 0 && ProcessStartTime(stamp.pid) == stamp.start;
}

size_t Descendants(pid_t root, pid_t* out, size_t capacity) {
  size_t n = 0;
  ForEachProcess([&](pid_t pid) {
    if (n >= kMaxScan) return;
    char state = 0;
    pid_t ppid = 0;
    unsigned long long start = 0;
    if (!ReadStat(pid, state, ppid, start) || state == 'Z' || state == 'X') return;
    g_pids[n] = pid;
    g_parents[n] = ppid;
    g_mark[n] = false;
    ++n;
  });
  // From root down, each process's children found by parent in the sorted index: O(n log n). (std::sort
  // and std::equal_range neither allocate nor lock: safe after fork.)
  for (size_t i = 0; i < n; ++i) g_by_parent[i] = static_cast<unsigned>(i);
  std::sort(g_by_parent, g_by_parent + n, [](unsigned a, unsigned b) { return g_parents[a] < g_parents[b]; });
  struct ByParent {
    bool operator()(unsigned i, pid_t parent) const { return g_parents[i] < parent; }
    bool operator()(pid_t parent, unsigned i) const { return parent < g_parents[i]; }
  };
  size_t head = 0, tail = 0;
  g_queue[tail++] = root;
  while (head < tail) {
    const auto [first, last] = std::equal_range(g_by_parent, g_by_parent + n, g_queue[head++], ByParent());
    for (const unsigned* child = first; child != last; ++child)
      if (!g_mark[*child] && tail < kMaxScan) {
        g_mark[*child] = true;  // each process once, so the queue never holds more than n
        g_queue[tail++] = g_pids[*child];
      }
  }
  size_t found = 0;
  for (size_t i = 0; i < n; ++i)
    if (g_mark[i]) {
      if (found < capacity) out[found] = g_pids[i];
      ++found;
    }
  return found;
}

size_t CgroupMembers(const char* dir, pid_t* out, size_t capacity) {
  char path[4096];
  const size_t len = std::strlen(dir);
  if (len + sizeof "/cgroup.procs" > sizeof path) return 0;
  std::memcpy(path, dir, len);
  std::memcpy(path + len, "/cgroup.procs", sizeof "/cgroup.procs");
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  size_t found = 0;
  char buf[4096];
  unsigned long long pid = 0;
  bool in_number = false;
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] >= '0' && buf[i] <= '9') {
        pid = (in_number ? pid * 10 : 0) + static_cast<unsigned long long>(buf[i] - '0');
        in_number = true;
      } else if (in_number) {
        if (found < capacity) out[found] = static_cast<pid_t>(pid);
        ++found;
        in_number = false;
      }
    }
  }
  if (in_number) {
    if (found < capacity) out[found] = static_cast<pid_t>(pid);
    ++found;
  }
  ::close(fd);
  return found;
}

size_t AppendDecimal(char* buf, size_t at, unsigned long long v) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n > 0) buf[at++] = digits[--n];
  return at;
}

size_t FormatTreeRecord(char* buf, size_t cap, const ProcStamp* keeper, const ProcStamp* processes, size_t n,
                        const char* cgroup) {
  constexpr size_t kLine = 64;  // the longest stamp line, with room to spare
  size_t at = AppendText(buf, 0, "migctl-tree 1\n");
  auto stamp = [&](const char* kind, const ProcStamp& p) {
    if (at + kLine > cap) return;
    at = AppendText(buf, at, kind);
    at = AppendDecimal(buf, at, static_cast<unsigned long long>(p.pid));
    buf[at++] = ' ';
    at = AppendDecimal(buf, at, p.start);
    buf[at++] = '\n';
  };
  if (keeper != nullptr) stamp("keeper ", *keeper);
  for (size_t i = 0; i < n; ++i) stamp("process ", processes[i]);
  if (cgroup[0] != '\0' && at + std::strlen(cgroup) + 9 <= cap) {
    at = AppendText(buf, at, "cgroup ");
    at = AppendText(buf, at, cgroup);
    buf[at++] = '\n';
  }
  return at;
}

std::string FormatTreeRecord(const TreeRecord& record) {
  std::string text(64 * (record.processes.size() + 2) + record.cgroup.size() + 32, '\0');
  text.resize(FormatTreeRecord(text.data(), text.size(), record.keeper ? &*record.keeper : nullptr,
                               record.processes.data(), record.processes.size(), record.cgroup.c_str()));
  return text;
}

std::optional<TreeRecord> ParseTreeRecord(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line) || line != "migctl-tree 1") return std::nullopt;
  TreeRecord record;
  while (std::getline(in, line)) {
    if (line.empty()) continue;  // padding of a shorter record written over a longer one
    std::istringstream words(line);
    std::string kind;
    words >> kind;
    if (kind == "cgroup") {
      record.cgroup = line.substr(7);
      if (record.cgroup.empty() || record.cgroup[0] != '/') return std::nullopt;
      continue;
    }
    ProcStamp stamp;
    long long pid = 0;
    if (!(words >> pid >> stamp.start) || pid <= 0 || (kind != "keeper" && kind != "process"))
      return std::nullopt;
    stamp.pid = static_cast<pid_t>(pid);
    if (kind == "keeper")
      record.keeper = stamp;
    else
      record.processes.push_back(stamp);
  }
  return record;
}

std::optional<pid_t> LiveProcessOf(const TreeRecord& record) {
  if (record.keeper && StillRuns(*record.keeper)) return record.keeper->pid;
  for (const ProcStamp& p : record.processes)
    if (StillRuns(p)) return p.pid;
  if (!record.cgroup.empty()) {
    pid_t members[16];
    const size_t n = CgroupMembers(record.cgroup.c_str(), members, 16);
    for (size_t i = 0; i < std::min<size_t>(n, 16); ++i)
      if (ProcessStartTime(members[i]) != 0) return members[i];
  }
  return std::nullopt;
}

}  // namespace migctl
