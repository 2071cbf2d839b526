#include "common/mem_file.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace migctl {

Result<MemFile> MemFile::Create(const char* name) {
  const int fd = ::memfd_create(name, MFD_CLOEXEC);
  if (fd < 0) return MakeError(ErrorCode::kIo, fmt::format("cannot create a memory file: {}", std::strerror(errno)));
  return MemFile(fd);
}

MemFile::~MemFile() {
  if (fd_ >= 0) ::close(fd_);
}

bool MemFile::Write(std::string_view text) const {
  return ::pwrite(fd_, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size());
}

std::string MemFile::Read() const {
  std::string text;
  char buffer[4096];
  off_t offset = 0;
  for (ssize_t n; (n = ::pread(fd_, buffer, sizeof buffer, offset)) > 0; offset += n) {
    text.append(buffer, static_cast<size_t>(n));
  }
  return text;
}

}  // namespace migctl
