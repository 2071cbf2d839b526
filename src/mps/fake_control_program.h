// For the tests of mps/: the fake nvidia-cuda-mps-control (tests/fixtures/fake-mps-control) installed as
// $MIGCTL_MPS_CONTROL, a temporary directory per test, and process checks. Tests that need its knobs (a slow
// or ignored quit, a failed start) play it on a fake clock instead: mps/scripted_control.h.
#pragma once

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace migctl::mps::testing {

inline const std::string kFakeControl = std::string(MIGCTL_SOURCE_DIR) + "/tests/fixtures/fake-mps-control";

/// True when `pid` has ended: no such process, or a zombie.
inline bool Gone(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::stringstream text;
  text << in.rdbuf();
  std::string stat = text.str();
  std::size_t close = stat.rfind(')');
  return stat.empty() || (close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z');
}

/// Waits up to `limit` for `pid` to end.
inline bool EndsWithin(pid_t pid, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!Gone(pid)) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

/// A fresh directory, with MIGCTL_MPS_CONTROL set to the fake, both undone afterwards.
class FakeMpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "migctl-mps-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    UseProgram(kFakeControl);
  }
  void TearDown() override {
    ::unsetenv("MIGCTL_MPS_CONTROL");
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  void UseProgram(const std::string& program) { ::setenv("MIGCTL_MPS_CONTROL", program.c_str(), 1); }
  std::string dir_;
};

}  // namespace migctl::mps::testing
