#include "common/file.h"

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fraiseql {
namespace {

TEST(ReadWholeFile, ReadsEveryByte) {
  const std::string path = ::testing::TempDir() + "/read_whole_file.bin";
  const std::string content("a\0b\nc", 5);
  std::ofstream(path, std::ios::binary) << content;
  Result<std::string> text = ReadWholeFile(path);
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, content);
}

TEST(ReadWholeFile, MissingFileIsNotFound) {
  Result<std::string> text = ReadWholeFile("/nonexistent/file.toml");
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(text.error().message, "No such file or directory");
}

TEST(ReadWholeFile, DirectoryIsRefused) {
  Result<std::string> text = ReadWholeFile(::testing::TempDir());
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(text.error().message, "it is a directory");
}

}  // namespace
}  // namespace fraiseql
