#include "integrations/host_blockers.h"

#include <gtest/gtest.h>

#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace migctl::integrations {
namespace {

namespace fs = std::filesystem;

/// A host as a directory tree, removed at the end.
class FakeHost {
 public:
  FakeHost() {
    std::string pattern = (fs::temp_directory_path() / "host_blockers_test.XXXXXX").string();
    root_ = mkdtemp(pattern.data());
  }
  ~FakeHost() { fs::remove_all(root_); }
  const std::string& root() const { return root_; }

  void Write(const std::string& relative, std::string_view text) const {
    fs::path path = fs::path(root_) / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
  }
  void Process(int pid, std::string_view comm, std::string_view cmdline = "") const {
    Write("proc/" + std::to_string(pid) + "/comm", std::string(comm) + "\n");
    Write("proc/" + std::to_string(pid) + "/cmdline", cmdline);
  }
  void Link(const std::string& relative, const std::string& target) const {
    fs::path path = fs::path(root_) / relative;
    fs::create_directories(path.parent_path());
    fs::create_symlink(target, path);
  }
  void Dir(const std::string& relative) const { fs::create_directories(fs::path(root_) / relative); }

 private:
  std::string root_;
};

TEST(SysfsPciAddress, MapsNvmlBusIdsToSysfsNames) {
  EXPECT_EQ(*SysfsPciAddress("00000000:3B:00.0"), "0000:3b:00.0");
  EXPECT_EQ(*SysfsPciAddress("0000:3B:00.0"), "0000:3b:00.0");
  EXPECT_EQ(*SysfsPciAddress("00000001:C2:1F.7"), "0001:c2:1f.7");
  EXPECT_EQ(*SysfsPciAddress("00010000:01:00.0"), "10000:01:00.0");  // sysfs prints wide domains whole
  for (std::string_view bad : {"", "3B:00.0", "00000000:3B:00", "00000000:3B:0.0", "0000000G:3B:00.0",
                               "00000000:3B:00.0:1", "GPU-5d3f"}) {
    Result<std::string> r = SysfsPciAddress(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);
  }
}

TEST(HostProbe, AQuietHostHasNoBlockers) {
  FakeHost host;
  host.Write("proc/modules", "nvidia_uvm 1 0 - Live 0x0\nnvidia 2 1 nvidia_uvm, Live 0x0\n");
  host.Process(1, "systemd", std::string("/sbin/init\0", 11));
  host.Dir("sys/bus/pci/devices/0000:3b:00.0");
  host.Write("sys/bus/pci/devices/0000:3b:00.0/reset", "");
  Result<std::vector<Blocker>> found = HostProbe(host.root()).Probe({"00000000:3B:00.0"});
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_TRUE(found->empty());
}

TEST(HostProbe, NamesEveryBlockerWithItsKindPidsAndFix) {
  FakeHost host;
  host.Write(
      "proc/modules",
      "nvidia_drm 77824 4 - Live 0x0\nnvidia_modeset 1 1 nvidia_drm, Live 0x0\nnvidia 2 2 - Live 0x0\n");
  host.Process(100, "nv-hostengine", std::string("/usr/bin/nv-hostengine\0-n\0", 26));
  host.Process(200, "nvidia-persiste", std::string("/usr/bin/nvidia-persistenced\0--user\0nvidia\0", 44));
  host.Process(301, "nvsm-api-gatewa", std::string("/usr/bin/python3\0/usr/share/nvsm/gw.py\0", 40));
  host.Process(300, "nvsm_core");
  host.Process(400, "dcgm-exporter", std::string("/usr/bin/dcgm-exporter\0", 23));
  host.Process(500, "bash", std::string("bash\0", 5));
  host.Process(700, "nvidia-device-p", std::string("nvidia-device-plugin\0", 21));
  host.Write("proc/600/stat", "");  // a process that ended while we looked: no comm
  host.Link("etc/systemd/system/multi-user.target.wants/nvidia-mig-manager.service",
            "/etc/systemd/system/nvidia-mig-manager.service");  // dangling inside the tree, as it is
  host.Write("sys/bus/pci/devices/0000:3b:00.0/reset", "");
  host.Dir("sys/bus/pci/devices/0000:86:00.0");

  Result<std::vector<Blocker>> found =
      HostProbe(host.root()).Probe({"00000000:3B:00.0", "00000000:86:00.0", "00000000:99:00.0"});
  ASSERT_TRUE(found.ok()) << found.error().message;
  std::vector<std::string> whats;
  for (const Blocker& b : *found) whats.push_back(b.what);
  ASSERT_EQ(whats, (std::vector<std::string>{
                       "nvidia_drm kernel module",
                       "DCGM host engine (nv-hostengine)",
                       "NVIDIA System Management (nvsm)",
                       "dcgm-exporter",
                       "Kubernetes NVIDIA device plugin",
                       "NVIDIA persistence daemon (nvidia-persistenced)",
                       "GPU 00000000:86:00.0 offers no PCI reset",
                       "nvidia-mig-manager.service (mig-parted) is enabled",
                   }));
  const std::vector<Blocker>& b = *found;
  EXPECT_EQ(b[0].kind, BlockerKind::kBlocksModeChange);
  EXPECT_EQ(b[0].fix.rfind("rmmod nvidia_drm", 0), 0u) << b[0].fix;
  EXPECT_TRUE(b[0].pids.empty());
  EXPECT_EQ(b[1].pids, std::vector<int>{100});
  EXPECT_EQ(b[1].fix.rfind("systemctl stop nvidia-dcgm", 0), 0u) << b[1].fix;
  EXPECT_EQ(b[2].pids, (std::vector<int>{300, 301}));
  EXPECT_EQ(b[3].kind, BlockerKind::kBlocksModeChange);
  EXPECT_EQ(b[4].pids, std::vector<int>{700});
  EXPECT_EQ(b[5].kind, BlockerKind::kNote);
  EXPECT_EQ(b[5].pids, std::vector<int>{200});
  EXPECT_EQ(b[6].kind, BlockerKind::kNoReset);
  EXPECT_EQ(b[6].gpu, "00000000:86:00.0");
  EXPECT_EQ(b[7].kind, BlockerKind::kConflict);
  EXPECT_EQ(b[7].fix, "systemctl disable nvidia-mig-manager.service");
  for (const Blocker& blocker : b) EXPECT_FALSE(blocker.why.empty() || blocker.fix.empty()) << blocker.what;
}

TEST(HostProbe, ATruncatedCommIsNotMistakenForAnotherProgram) {
  FakeHost host;
  // comm is cut to 15 bytes; argv[0] says it is some other program that merely shares the prefix.
  host.Process(10, "nvidia-persiste", std::string("/opt/nvidia-persistence-probe\0", 30));
  host.Process(11, "nv-hostengine-x");
  Result<std::vector<Blocker>> found = HostProbe(host.root()).Probe();
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE(found->empty()) << (*found)[0].what;
}

TEST(HostProbe, PciResetIsUnknownForDevicesSysfsDoesNotList) {
  FakeHost host;
  host.Write("sys/bus/pci/devices/0000:3b:00.0/reset", "");
  host.Dir("sys/bus/pci/devices/0000:86:00.0");
  HostProbe probe(host.root());
  EXPECT_EQ(*probe.PciResetAvailable("00000000:3B:00.0"), std::optional<bool>(true));
  EXPECT_EQ(*probe.PciResetAvailable("00000000:86:00.0"), std::optional<bool>(false));
  EXPECT_EQ(*probe.PciResetAvailable("00000000:99:00.0"), std::nullopt);
  EXPECT_EQ(probe.PciResetAvailable("bogus").error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(probe.Probe({"bogus"}).error().code, ErrorCode::kInvalidInput);
}

TEST(HostProbe, RootMustBeADirectoryAndComesFromTheEnvironment) {
  EXPECT_EQ(HostProbe("/nonexistent/host").Probe().error().code, ErrorCode::kNotFound);
  setenv("MIGCTL_HOST_ROOT", "/host", 1);
  EXPECT_EQ(HostProbe::FromEnvironment().root(), "/host");
  setenv("MIGCTL_HOST_ROOT", "", 1);
  EXPECT_EQ(HostProbe::FromEnvironment().root(), "/");
  unsetenv("MIGCTL_HOST_ROOT");
  EXPECT_EQ(HostProbe::FromEnvironment().root(), "/");
}

TEST(HostProbe, KindNamesForJson) {
  EXPECT_STREQ(BlockerKindName(BlockerKind::kBlocksModeChange), "blocks_mode_change");
  EXPECT_STREQ(BlockerKindName(BlockerKind::kNoReset), "no_reset");
  EXPECT_STREQ(BlockerKindName(BlockerKind::kConflict), "conflict");
  EXPECT_STREQ(BlockerKindName(BlockerKind::kNote), "note");
}

}  // namespace
}  // namespace migctl::integrations
