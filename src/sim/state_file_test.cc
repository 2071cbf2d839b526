#include "sim/state_file.h"

#include <gtest/gtest.h>

#include <fstream>

#include "sim/test_support.h"

namespace migctl::sim {
namespace {

MachineState OneGpu() {
  MachineState state;
  state.gpus.push_back(testing::MakeGpu("h100-80gb"));
  return state;
}

TEST(StateFile, CreateRefusesToOverwriteUnlessForced) {
  testing::TempDir dir;
  std::string path = dir.File("m.json");
  ASSERT_TRUE(StateFile::Create(path, OneGpu(), false).ok());
  Status again = StateFile::Create(path, OneGpu(), false);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kInvalidInput);
  EXPECT_TRUE(StateFile::Create(path, OneGpu(), true).ok());
}

TEST(StateFile, UpdateWritesOnlyWhenAskedAndOthersSeeIt) {
  testing::TempDir dir;
  std::string path = dir.File("m.json");
  ASSERT_TRUE(StateFile::Create(path, OneGpu(), false).ok());
  StateFile reader(path), writer(path);
  ASSERT_TRUE(reader.Read().ok());
  ASSERT_TRUE(writer
                  .Update([](MachineState& s) {
                    s.gpus[0].creations = 5;
                    return false;
                  })
                  .ok());
  EXPECT_EQ((*reader.Read())->gpus[0].creations, 0u);
  ASSERT_TRUE(writer
                  .Update([](MachineState& s) {
                    s.gpus[0].creations = 7;
                    return true;
                  })
                  .ok());
  EXPECT_EQ((*reader.Read())->gpus[0].creations, 7u);
}

TEST(StateFile, ReportsMissingAndCorruptFiles) {
  testing::TempDir dir;
  StateFile missing(dir.File("none.json"));
  EXPECT_EQ(missing.Read().error().code, ErrorCode::kNotFound);
  std::string path = dir.File("bad.json");
  std::ofstream(path) << "{\"version\": 1, \"gpus\": [";
  StateFile corrupt(path);
  EXPECT_EQ(corrupt.Read().error().code, ErrorCode::kCorrupt);
  EXPECT_EQ(corrupt.Update([](MachineState&) { return true; }).error().code, ErrorCode::kCorrupt);
}

}  // namespace
}  // namespace migctl::sim
