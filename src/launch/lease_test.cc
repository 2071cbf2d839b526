#include "launch/lease.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include <filesystem>

#include <gtest/gtest.h>

#include <map>

#include "common/task_tree.h"

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

TEST_F(LeaseTest, TheDirectoryIsPrivateToItsUser) {
  ::umask(0);
  LeaseTable table(dir_.string());
  Result<std::optional<Lease>> lease = table.TryAcquire("GPU-x/slot0");
  ::umask(022);
  ASSERT_TRUE(lease.ok()) << lease.error().message;
  EXPECT_EQ(fs::status(dir_).permissions() & fs::perms::all, fs::perms::owner_all);
  EXPECT_EQ(fs::status(dir_ / "GPU-x.slot0.lock").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write)
      << "0600 whatever the umask, never 0666";
}

TEST_F(LeaseTest, ASharedWorldWritableDirectoryIsRefused) {
  // The old default, /tmp/migctl-leases (1777): anyone could plant a lock file there.
  fs::create_directories(dir_);
  fs::permissions(dir_, fs::perms::all | fs::perms::sticky_bit);
  LeaseTable table(dir_.string());
  Status prepared = table.Prepare();
  ASSERT_FALSE(prepared.ok());
  EXPECT_EQ(prepared.error().message.find(dir_.string() + " is writable by others"), 0u);
  Result<std::optional<Lease>> lease = table.TryAcquire("MIG-1");
  ASSERT_FALSE(lease.ok());
  EXPECT_EQ(lease.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(lease.error().message.find(dir_.string() + " is writable by others"), std::string::npos)
      << lease.error().message;
  EXPECT_NE(lease.error().message.find("MIGCTL_LEASE_DIR"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "MIG-1.lock"));
}

TEST_F(LeaseTest, LeaseSymlinkToRootFileIsRefused) {
  fs::create_directories(dir_ / "leases");
  fs::permissions(dir_ / "leases", fs::perms::owner_all);
  const fs::path victim = dir_ / "victim";
  {
    std::FILE* f = std::fopen(victim.c_str(), "w");
    std::fputs("root:secret\n", f);
    std::fclose(f);
  }
  fs::permissions(victim, fs::perms::owner_read | fs::perms::owner_write);
  fs::create_symlink(victim, dir_ / "leases" / "MIG-1.lock");
  LeaseTable table((dir_ / "leases").string());
  Result<std::optional<Lease>> lease = table.TryAcquire("MIG-1");
  ASSERT_FALSE(lease.ok());
  EXPECT_NE(lease.error().message.find("MIG-1.lock is a symbolic link"), std::string::npos)
      << lease.error().message;
  EXPECT_EQ(fs::status(victim).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(fs::file_size(victim), 12u);
}

TEST_F(LeaseTest, ADirectoryOfAnotherUserIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to hand a directory to another user";
  fs::create_directories(dir_);
  ASSERT_EQ(::chown(dir_.c_str(), 65534, 65534), 0);
  LeaseTable table(dir_.string());
  Result<std::optional<Lease>> lease = table.TryAcquire("MIG-1");
  ASSERT_FALSE(lease.ok());
  EXPECT_NE(lease.error().message.find("is owned by uid 65534; remove it or set MIGCTL_LEASE_DIR"),
            std::string::npos)
      << lease.error().message;
}

TEST(DefaultLeaseDir, IsPrivateUnlessOverridden) {
  ::unsetenv("MIGCTL_LEASE_DIR");
  EXPECT_EQ(DefaultLeaseDir(true, "/s.json.migctl"), "/s.json.migctl/leases");
  if (::geteuid() == 0) {
    EXPECT_EQ(DefaultLeaseDir(false, "/run/migctl"), "/run/migctl/leases");
  }
  EXPECT_EQ(DefaultLeaseDir(false, "/run/migctl").find("/tmp/migctl-leases"), std::string::npos);
  ::setenv("MIGCTL_LEASE_DIR", "/somewhere", 1);
  EXPECT_EQ(DefaultLeaseDir(false, "/run/migctl"), "/somewhere");
  ::unsetenv("MIGCTL_LEASE_DIR");
}

/// Writes `record` through the lease's own descriptor, as a keeper does.
void Write(const Lease& lease, const TreeRecord& record) {
  const std::string text = FormatTreeRecord(record);
  ASSERT_EQ(::pwrite(lease.fd(), text.data(), text.size(), 0), static_cast<ssize_t>(text.size()));
}

TEST_F(LeaseTest, AFreeLockWhoseRecordNamesALiveProcessIsStillHeld) {
  // The keeper was killed (its flock went with it), but a process of the task lives on: this test itself.
  LeaseTable table(dir_.string());
  Result<std::optional<Lease>> lease = table.TryAcquire("MIG-1");
  ASSERT_TRUE(lease.ok() && lease->has_value());
  const ProcStamp self{::getpid(), ProcessStartTime(::getpid())};
  Write(**lease, TreeRecord{ProcStamp{self.pid, self.start + 1}, {self}, ""});
  (*lease)->Release();
  EXPECT_EQ(table.Holder("MIG-1"), self.pid);
  Result<std::optional<Lease>> again = table.TryAcquire("MIG-1");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value());
}

TEST_F(LeaseTest, ARecordOfProcessesThatHaveEndedIsStale) {
  LeaseTable table(dir_.string());
  Result<std::optional<Lease>> lease = table.TryAcquire("MIG-1");
  ASSERT_TRUE(lease.ok() && lease->has_value());
  // A pid that exists with another start time is another process: the recorded one has ended.
  const ProcStamp gone{::getpid(), ProcessStartTime(::getpid()) + 7};
  Write(**lease, TreeRecord{gone, {gone}, (dir_ / "no-such-cgroup").string()});
  (*lease)->Release();
  EXPECT_EQ(table.Holder("MIG-1"), std::nullopt);
  Result<std::optional<Lease>> again = table.TryAcquire("MIG-1");
  ASSERT_TRUE(again.ok() && again->has_value());
}

TEST_F(LeaseTest, HoldersListsLiveHoldersInOnePass) {
  LeaseTable table(dir_.string());
  EXPECT_TRUE(table.Holders().empty()) << "no directory yet";
  const ProcStamp self{::getpid(), ProcessStartTime(::getpid())};
  const ProcStamp gone{::getpid(), self.start + 7};
  for (const auto& [key, who] : {std::pair<std::string, ProcStamp>{"MIG-1", self},
                                 {"GPU-2/slot0", self},
                                 {"MIG-3", gone}}) {
    Result<std::optional<Lease>> lease = table.TryAcquire(key);
    ASSERT_TRUE(lease.ok() && lease->has_value());
    Write(**lease, TreeRecord{who, {who}, (dir_ / "no-such-cgroup").string()});
  }
  fs::create_symlink(dir_ / "MIG-1.lock", dir_ / "MIG-4.lock");  // a link is not a lease of its own
  const std::map<std::string, pid_t> held = table.Holders();
  EXPECT_EQ(held, (std::map<std::string, pid_t>{{"GPU-2.slot0", self.pid}, {"MIG-1", self.pid}}));
  for (const auto& [key, pid] : held) EXPECT_EQ(table.Holder(key), pid) << key;
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
