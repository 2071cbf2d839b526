#include "sim/uuid.h"

#include <gtest/gtest.h>

#include <regex>

namespace migctl::sim {
namespace {

TEST(Uuid, GpuUuidsAreDeterministicAndDistinct) {
  std::regex shape("GPU-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
  EXPECT_TRUE(std::regex_match(MakeGpuUuid(1, 0), shape)) << MakeGpuUuid(1, 0);
  EXPECT_EQ(MakeGpuUuid(1, 0), MakeGpuUuid(1, 0));
  EXPECT_NE(MakeGpuUuid(1, 0), MakeGpuUuid(1, 1));
  EXPECT_NE(MakeGpuUuid(1, 0), MakeGpuUuid(2, 0));
}

TEST(Uuid, MigUuidsAreVersion5Shaped) {
  std::regex shape("MIG-[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  for (unsigned serial = 0; serial < 50; ++serial) {
    std::string uuid = MakeMigUuid("GPU-x", serial % 15, serial % 8, serial);
    EXPECT_TRUE(std::regex_match(uuid, shape)) << uuid;
  }
  EXPECT_NE(MakeMigUuid("GPU-x", 1, 0, 1), MakeMigUuid("GPU-x", 1, 0, 2));
}

}  // namespace
}  // namespace migctl::sim
