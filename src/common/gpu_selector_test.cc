#include "common/gpu_selector.h"

#include <gtest/gtest.h>

namespace migctl {
namespace {

std::vector<GpuIdentity> FourGpus() {
  return {{GpuIndex(0), GpuUuid("GPU-3ecd459c-0b85-7603-9390-03076bf3f151"), "00000000:06:00.0"},
          {GpuIndex(1), GpuUuid("GPU-9ce1ef66-8d1b-ee6c-d33e-b9d14cd2ca95"), "00000000:3B:00.0"},
          {GpuIndex(2), GpuUuid("GPU-9ce1ef66-aaaa-ee6c-d33e-b9d14cd2ca95"), "00000000:86:00.0"},
          {GpuIndex(3), GpuUuid("GPU-11111111-0b85-7603-9390-03076bf3f151"), "00000001:AF:00.0"}};
}

std::vector<unsigned> Indexes(const Result<std::vector<GpuIndex>>& r) {
  std::vector<unsigned> out;
  for (auto i : r.value()) out.push_back(i.value());
  return out;
}

TEST(GpuSelector, IndexesRangesAndDuplicatesResolveInOrder) {
  auto s = GpuSelector::Parse("3,0-1,1");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(Indexes(s->Resolve(FourGpus())), (std::vector<unsigned>{0, 1, 3}));
}

TEST(GpuSelector, UuidPrefixAndPciForms) {
  EXPECT_EQ(Indexes(GpuSelector::Parse("GPU-3ECD459C")->Resolve(FourGpus())), (std::vector<unsigned>{0}));
  EXPECT_EQ(Indexes(GpuSelector::Parse("3b:00.0")->Resolve(FourGpus())), (std::vector<unsigned>{1}));
  EXPECT_EQ(Indexes(GpuSelector::Parse("0001:af:00.0")->Resolve(FourGpus())), (std::vector<unsigned>{3}));
}

TEST(GpuSelector, AmbiguousUuidPrefixIsRejected) {
  auto r = GpuSelector::Parse("GPU-9ce1ef66")->Resolve(FourGpus());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);
}

TEST(GpuSelector, MissingIndexSaysHowManyExist) {
  auto r = GpuSelector::Parse("7")->Resolve(FourGpus());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_NE(r.error().message.find("4 GPUs"), std::string::npos) << r.error().message;
}

TEST(GpuSelector, GarbageAndBackwardRangesAreInvalidInput) {
  for (const char* bad : {"", "x", "3-1", "0,,1", "GPU-", "-1"}) {
    auto r = GpuSelector::Parse(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput) << bad;
  }
}

TEST(GpuSelector, AllSelectsEveryGpu) {
  EXPECT_EQ(Indexes(GpuSelector::Parse("all")->Resolve(FourGpus())), (std::vector<unsigned>{0, 1, 2, 3}));
}

TEST(NormalizePciBusId, AcceptsShortAndLongForms) {
  EXPECT_EQ(NormalizePciBusId("3b:00.0"), "00000000:3B:00.0");
  EXPECT_EQ(NormalizePciBusId("00000000:3B:00.0"), "00000000:3B:00.0");
  EXPECT_EQ(NormalizePciBusId("3b:00"), "");
}

}  // namespace
}  // namespace migctl
