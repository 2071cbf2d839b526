#include "common/mem_file.h"

#include <unistd.h>

#include <gtest/gtest.h>

namespace migctl {
namespace {

TEST(MemFile, ReadsWhatAChildWroteAndWhatWasWrittenForIt) {
  Result<MemFile> out = MemFile::Create("stdout");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->Read(), "");
  // A child writes through the descriptor, as its stdout; the parent reads from the start afterwards.
  ASSERT_EQ(::write(out->fd(), "line 1\n", 7), 7);
  ASSERT_EQ(::write(out->fd(), "line 2\n", 7), 7);
  EXPECT_EQ(out->Read(), "line 1\nline 2\n");
  // A child's stdin: written before it starts, read by it from the start.
  Result<MemFile> in = MemFile::Create("stdin");
  ASSERT_TRUE(in.ok());
  ASSERT_TRUE(in->Write("get_server_list\n"));
  char buffer[64] = {};
  ASSERT_EQ(::read(in->fd(), buffer, sizeof buffer), 16);
  EXPECT_STREQ(buffer, "get_server_list\n");
  MemFile moved = std::move(*out);
  EXPECT_EQ(moved.Read(), "line 1\nline 2\n");
  EXPECT_EQ(out->fd(), -1);
}

}  // namespace
}  // namespace migctl
