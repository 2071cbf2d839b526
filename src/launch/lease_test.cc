#include "launch/lease.h"

#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

namespace migctl {
namespace {

namespace fs = std::filesystem;

class LeaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("migctl-lease-test-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(LeaseTest, ALeaseIsExclusiveUntilReleased) {
  LeaseTable a(dir_.string()), b(dir_.string());
  Result<std::optional<Lease>> first = a.TryAcquire("MIG-1");
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_TRUE(first->has_value());
  Result<std::optional<Lease>> second = b.TryAcquire("MIG-1");
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->has_value());
  Result<std::optional<Lease>> other = b.TryAcquire("MIG-2");
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->has_value()) << "another device is free";
  (*first)->Release();
  Result<std::optional<Lease>> again = b.TryAcquire("MIG-1");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->has_value());
}

TEST_F(LeaseTest, TheDirectoryIsSharedByEveryUser) {
  LeaseTable table(dir_.string());
  ASSERT_TRUE(table.TryAcquire("GPU-x/slot0").ok());
  EXPECT_EQ(fs::status(dir_).permissions() & fs::perms::all, fs::perms::all);
  EXPECT_TRUE(fs::exists(dir_ / "GPU-x.slot0.lock"));
}

TEST_F(LeaseTest, RecordsItsHolder) {
  LeaseTable table(dir_.string());
  Result<std::optional<Lease>> lease = table.TryAcquire("MIG-1");
  ASSERT_TRUE(lease.ok() && lease->has_value());
  EXPECT_EQ(table.Holder("MIG-1"), std::nullopt);
  (*lease)->SetHolder(4242);
  EXPECT_EQ(table.Holder("MIG-1"), 4242);
  (*lease)->SetHolder(7);
  EXPECT_EQ(table.Holder("MIG-1"), 7) << "a shorter pid replaces a longer one entirely";
}

TEST_F(LeaseTest, AnUnusableDirectoryIsAnError) {
  fs::create_directories(dir_);
  const fs::path file = dir_ / "file";
  {
    std::FILE* f = std::fopen(file.c_str(), "w");
    std::fclose(f);
  }
  LeaseTable table((file / "leases").string());
  Result<std::optional<Lease>> lease = table.TryAcquire("MIG-1");
  ASSERT_FALSE(lease.ok());
  EXPECT_EQ(lease.error().code, ErrorCode::kIo);
}

}  // namespace
}  // namespace migctl
