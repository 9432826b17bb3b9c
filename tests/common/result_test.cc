#include "common/result.h"

#include <memory>
#include <string>

#include <gtest/gtest.h>

namespace fraiseql {
namespace {

Result<int> ParsePositive(int value) {
  if (value <= 0) return Error::InvalidArgument("not positive: " + std::to_string(value));
  return value;
}

Result<int> DoublePositive(int value) {
  int parsed = 0;
  FRAISEQL_ASSIGN_OR_RETURN(parsed, ParsePositive(value));
  return parsed * 2;
}

Result<void> CheckPositive(int value) {
  if (value <= 0) return Error::FailedPrecondition("needs a positive value");
  return Ok();
}

Result<std::string> Describe(int value) {
  FRAISEQL_RETURN_IF_ERROR(CheckPositive(value));
  return std::string("ok ") + std::to_string(value);
}

TEST(ResultTest, HoldsAValue) {
  Result<int> result = ParsePositive(5);
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(static_cast<bool>(result));
  EXPECT_EQ(*result, 5);
  EXPECT_EQ(result.value(), 5);
  EXPECT_EQ(result.value_or(9), 5);
}

TEST(ResultTest, HoldsAnError) {
  Result<int> result = ParsePositive(-3);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(result.error().message, "not positive: -3");
  EXPECT_FALSE(result.error().location.has_value());
  EXPECT_EQ(result.value_or(9), 9);
}

TEST(ResultTest, MovesOutMoveOnlyValues) {
  Result<std::unique_ptr<int>> result = std::make_unique<int>(4);
  ASSERT_TRUE(result);
  std::unique_ptr<int> owned = std::move(result).value();
  ASSERT_NE(owned, nullptr);
  EXPECT_EQ(*owned, 4);
}

TEST(ResultTest, ArrowReachesMembers) {
  Result<std::string> result = std::string("abc");
  EXPECT_EQ(result->size(), 3u);
}

TEST(ResultTest, AssignOrReturnPropagates) {
  Result<int> ok = DoublePositive(21);
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 42);
  Result<int> failed = DoublePositive(0);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error(), Error::InvalidArgument("not positive: 0"));
}

TEST(ResultTest, VoidResultAndReturnIfError) {
  EXPECT_TRUE(CheckPositive(1).has_value());
  Result<void> failed = CheckPositive(0);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kFailedPrecondition);

  Result<std::string> described = Describe(3);
  ASSERT_TRUE(described);
  EXPECT_EQ(*described, "ok 3");
  Result<std::string> refused = Describe(-1);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "needs a positive value");
}

TEST(ErrorTest, FactoriesSetTheCode) {
  EXPECT_EQ(Error::InvalidArgument("a").code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(Error::FailedPrecondition("a").code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(Error::NotFound("a").code, ErrorCode::kNotFound);
  EXPECT_EQ(Error::Unavailable("a").code, ErrorCode::kUnavailable);
  EXPECT_EQ(Error::Internal("a").code, ErrorCode::kInternal);
  EXPECT_EQ(Error::Internal("a").message, "a");
}

TEST(ErrorTest, AtAttachesALocation) {
  Error error = Error::InvalidArgument("bad key").At({"observers.toml", 3, 7});
  ASSERT_TRUE(error.location.has_value());
  EXPECT_EQ(error.location->file, "observers.toml");
  EXPECT_EQ(error.location->line, 3u);
  EXPECT_EQ(error.location->column, 7u);
  EXPECT_EQ(error.message, "bad key");
}

TEST(ErrorTest, ADetailIsTypedAndSurvivesContext) {
  const Error error = Error::InvalidArgument("no recipients").WithDetail("email", "no_recipients").Context("building");
  EXPECT_EQ(error.message, "building: no recipients");
  EXPECT_EQ(error.code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(error.DetailCode("email"), "no_recipients");
  EXPECT_EQ(error.DetailCode("sqlstate"), "");
  EXPECT_EQ(Error::Internal("x").DetailCode("email"), "");
}

TEST(ErrorTest, RetryableCodesAreUnavailableAndAborted) {
  EXPECT_TRUE(IsRetryable(Error::Unavailable("x")));
  EXPECT_TRUE(IsRetryable(Error::Of(ErrorCode::kAborted, "x")));
  EXPECT_FALSE(IsRetryable(Error::InvalidArgument("x")));
  EXPECT_FALSE(IsRetryable(Error::Internal("x")));
}

TEST(ErrorTest, CodeNames) {
  EXPECT_EQ(ErrorCodeName(ErrorCode::kInvalidArgument), "invalid_argument");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kFailedPrecondition), "failed_precondition");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kNotFound), "not_found");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kUnavailable), "unavailable");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kAborted), "aborted");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kInternal), "internal");
}

}  // namespace
}  // namespace fraiseql
