#include "common/holder_name.h"

#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fraiseql {
namespace {

TEST(UniqueHolderName, IsUniquePerCall) {
  const std::string a = UniqueHolderName();
  EXPECT_THAT(a, ::testing::HasSubstr(":" + std::to_string(::getpid()) + ":"));
  EXPECT_NE(a, UniqueHolderName());
}

TEST(UniqueHolderName, FitsTheHolderColumns) { EXPECT_LE(UniqueHolderName().size(), 255u); }

}  // namespace
}  // namespace fraiseql
