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

TEST(ReadWholeFile, ReadsUpToTheLimitAndRefusesMore) {
  const std::string path = ::testing::TempDir() + "/read_whole_file_limit.bin";
  std::ofstream(path, std::ios::binary) << std::string(200'000, 'x');
  Result<std::string> exact = ReadWholeFile(path, 200'000);
  ASSERT_TRUE(exact);
  EXPECT_EQ(exact->size(), 200'000u);
  Result<std::string> over = ReadWholeFile(path, 199'999);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(over.error().DetailCode(kFileErrorDomain), kFileTooLarge);
  EXPECT_EQ(over.error().message, "it is larger than 199999 bytes");
}

TEST(ReadWholeFile, AnEndlessFileIsCutAtTheLimit) {
  // /dev/zero never ends: only the limit stops the read.
  Result<std::string> endless = ReadWholeFile("/dev/zero", 1 << 20);
  ASSERT_FALSE(endless);
  EXPECT_EQ(endless.error().DetailCode(kFileErrorDomain), kFileTooLarge);
}

}  // namespace
}  // namespace fraiseql
