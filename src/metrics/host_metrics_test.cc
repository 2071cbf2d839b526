#include "metrics/host_metrics.h"

#include <gtest/gtest.h>

namespace migctl::metrics {
namespace {

nvml::InstanceSnapshot Instance(unsigned gi, const char* profile, unsigned profile_id, unsigned start,
                                unsigned size, const char* uuid) {
  nvml::InstanceSnapshot i;
  i.gi = GiId(gi);
  i.profile = ProfileId(profile_id);
  i.profile_name = profile;
  i.placement = {start, size};
  if (uuid != nullptr) {
    i.ci = CiId(0);
    i.uuid = MigUuid(uuid);
    i.memory = nvml::MemoryInfo{40192, 512};
  }
  return i;
}

HostSample TwoGpus() {
  HostSample s;
  s.hostname = "node1";
  s.driver_version = "580.159.04";
  s.collect_seconds = 0.002;
  GpuSample mig;
  mig.snapshot.index = GpuIndex(0);
  mig.snapshot.uuid = GpuUuid("GPU-aaaa");
  mig.snapshot.name = "NVIDIA H100 80GB HBM3";
  mig.snapshot.pci_bus_id = "00000000:19:00.0";
  mig.snapshot.memory = {81559, 1024};
  mig.snapshot.mig = nvml::MigMode{true, true};
  mig.snapshot.instances = {Instance(1, "3g.40gb", 9, 4, 4, "MIG-one"),
                            Instance(2, "3g.40gb", 9, 0, 4, nullptr)};
  mig.snapshot.instances[0].processes = {{42, "python", 300}, {43, "python", 200}};
  mig.room = {{ProfileId(19), "1g.10gb", 0}, {ProfileId(9), "3g.40gb", 0}};
  mig.leased = {{"MIG-one", true}};
  GpuSample whole;
  whole.snapshot.index = GpuIndex(1);
  whole.snapshot.uuid = GpuUuid("GPU-bbbb");
  whole.snapshot.name = "NVIDIA H100 80GB HBM3";
  whole.snapshot.memory = {81559, 0};
  whole.snapshot.mig = nvml::MigMode{false, false};
  whole.snapshot.processes = {{7, "train", 100}};
  s.gpus = {mig, whole};
  return s;
}

const Family& Named(const std::vector<Family>& families, const std::string& name) {
  for (const Family& f : families)
    if (f.name == name) return f;
  static const Family none;
  ADD_FAILURE() << "no family " << name;
  return none;
}

std::string Text(const std::vector<Family>& families, const std::string& name) {
  return Render({Named(families, name)});
}

TEST(HostMetrics, AMigDeviceCarriesDcgmsLabelsAndItsOwn) {
  const std::vector<Family> f = HostFamilies(TwoGpus());
  const std::string labels =
      "gpu=\"0\",UUID=\"GPU-aaaa\",hostname=\"node1\",GPU_I_PROFILE=\"3g.40gb\","
      "GPU_I_ID=\"1\",GPU_I_PROFILE_ID=\"9\",mig_uuid=\"MIG-one\"";
  EXPECT_NE(Text(f, "migctl_mig_device_memory_used_bytes")
                .find("migctl_mig_device_memory_used_bytes{" + labels + "} 536870912\n"),
            std::string::npos)
      << Text(f, "migctl_mig_device_memory_used_bytes");
  EXPECT_NE(Text(f, "migctl_mig_device_processes").find("{" + labels + "} 2\n"), std::string::npos);
  EXPECT_NE(Text(f, "migctl_mig_device_leased").find("{" + labels + "} 1\n"), std::string::npos);
}

TEST(HostMetrics, TheLayoutListsEveryGpuInstanceAndOnlyMigDevicesAreMeasured) {
  const std::vector<Family> f = HostFamilies(TwoGpus());
  const Family& layout = Named(f, "migctl_gpu_instance_info");
  ASSERT_EQ(layout.samples.size(), 2u);
  EXPECT_NE(Render({layout}).find("GPU_I_ID=\"2\",GPU_I_PROFILE_ID=\"9\",mig_uuid=\"\",placement_start=\"0\","
                                  "placement_size=\"4\",GPU_CI_ID=\"\"} 1"),
            std::string::npos)
      << Render({layout});
  EXPECT_EQ(Named(f, "migctl_mig_device_memory_total_bytes").samples.size(), 1u) << "GI 2 has no CI";
  EXPECT_EQ(Named(f, "migctl_mig_device_processes").samples.size(), 1u);
}

TEST(HostMetrics, FreeRoomPerProfileAndWholeGpuProcesses) {
  const std::vector<Family> f = HostFamilies(TwoGpus());
  const Family& room = Named(f, "migctl_gpu_profile_free");
  ASSERT_EQ(room.samples.size(), 2u) << "MIG-on GPUs only";
  EXPECT_NE(Render({room}).find("{gpu=\"0\",UUID=\"GPU-aaaa\",hostname=\"node1\",GPU_I_PROFILE=\"1g.10gb\","
                                "GPU_I_PROFILE_ID=\"19\"} 0"),
            std::string::npos);
  const Family& procs = Named(f, "migctl_gpu_processes");
  ASSERT_EQ(procs.samples.size(), 1u) << "with MIG on, processes are counted per MIG device";
  EXPECT_EQ(procs.samples[0].second, 1);
  EXPECT_EQ(Named(f, "migctl_gpu_mig_mode").samples.size(), 2u);
  EXPECT_EQ(Named(f, "migctl_gpu_memory_used_bytes").samples[0].second, 1024.0 * 1024 * 1024);
}

TEST(HostMetrics, WorkersHoldingAWholeGpuAreCountedOnMigOffGpusOnly) {
  HostSample s = TwoGpus();
  s.gpus[1].leased_workers = 3;
  const std::vector<Family> f = HostFamilies(s);
  const Family& workers = Named(f, "migctl_gpu_leased_workers");
  ASSERT_EQ(workers.samples.size(), 1u) << "a MIG-on GPU's leases are its MIG devices'";
  EXPECT_NE(Render({workers}).find("{gpu=\"1\",UUID=\"GPU-bbbb\",hostname=\"node1\"} 3\n"), std::string::npos)
      << Render({workers});
}

TEST(HostMetrics, GpmRatiosPerGpuWithMigOffAndOncePerGpuInstance) {
  HostSample s = TwoGpus();
  // GI 1 has a second compute instance: the GI's GPM series comes once, not per MIG device.
  nvml::InstanceSnapshot second = s.gpus[0].snapshot.instances[0];
  second.ci = CiId(1);
  second.uuid = MigUuid("MIG-two");
  s.gpus[0].snapshot.instances.insert(s.gpus[0].snapshot.instances.begin() + 1, second);
  s.gpus[0].gpm_gi[1] = nvml::GpmMetrics{0.5, 0.3, std::nullopt};
  s.gpus[1].gpm = nvml::GpmMetrics{0.25, 0.125, 0.75};
  const std::vector<Family> f = HostFamilies(s);
  EXPECT_TRUE(DuplicateSeries(f).empty());
  const Family& gi = Named(f, "migctl_gpu_instance_sm_active_ratio");
  ASSERT_EQ(gi.samples.size(), 1u);
  EXPECT_EQ(gi.samples[0].second, 0.5);
  EXPECT_NE(Render({gi}).find("GPU_I_ID=\"1\",GPU_I_PROFILE_ID=\"9\"} 0.5"), std::string::npos)
      << Render({gi});
  EXPECT_TRUE(Named(f, "migctl_gpu_instance_dram_active_ratio").samples.empty()) << "NVML gave none";
  const Family& whole = Named(f, "migctl_gpu_dram_active_ratio");
  ASSERT_EQ(whole.samples.size(), 1u);
  EXPECT_EQ(whole.samples[0].second, 0.75);
  EXPECT_NE(Render({whole}).find("gpu=\"1\""), std::string::npos);
}

TEST(HostMetrics, GpuChangesByCommandAndOutcome) {
  HostSample s = TwoGpus();
  s.changes["apply"] = CommandChanges{4, 1, false, 1700000000, 2.5};
  const std::vector<Family> f = HostFamilies(s);
  const Family& total = Named(f, "migctl_gpu_change_commands_total");
  EXPECT_EQ(total.type, MetricType::kCounter);
  EXPECT_EQ(
      Render({total}),
      "# HELP migctl_gpu_change_commands_total " + total.help +
          "\n# TYPE migctl_gpu_change_commands_total counter\n"
          "migctl_gpu_change_commands_total{hostname=\"node1\",command=\"apply\",result=\"succeeded\"} 4\n"
          "migctl_gpu_change_commands_total{hostname=\"node1\",command=\"apply\",result=\"failed\"} 1\n");
  EXPECT_EQ(Named(f, "migctl_gpu_change_last_success").samples[0].second, 0);
  EXPECT_EQ(Named(f, "migctl_gpu_change_last_timestamp_seconds").samples[0].second, 1700000000);
  EXPECT_EQ(Named(f, "migctl_gpu_change_last_duration_seconds").samples[0].second, 2.5);
  EXPECT_TRUE(DuplicateSeries(f).empty());
}

TEST(HostMetrics, NoSeriesTwiceAndARemovedInstanceLeavesNone) {
  HostSample s = TwoGpus();
  EXPECT_TRUE(DuplicateSeries(HostFamilies(s)).empty());
  s.gpus[0].snapshot.instances.erase(s.gpus[0].snapshot.instances.begin());
  const std::string text = Render(HostFamilies(s));
  EXPECT_EQ(text.find("MIG-one"), std::string::npos) << text;
}

}  // namespace
}  // namespace migctl::metrics
