// ${VAR} expansion rules.
#include "config/env_expand.h"

#include <map>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config_test_util.h"

namespace fraiseql {
namespace {

using ::testing::HasSubstr;

EnvLookup Env(std::map<std::string, std::string> values) {
  return [values = std::move(values)](std::string_view name) -> std::optional<std::string> {
    auto it = values.find(std::string(name));
    return it == values.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}

TEST(EnvExpand, SubstitutesVariables) {
  Result<Expanded> result = ExpandEnv("Bearer ${TOKEN}-${B_2}", Env({{"TOKEN", "abc"}, {"B_2", "x"}}));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->text, "Bearer abc-x");
  EXPECT_TRUE(result->used_variables);
}

TEST(EnvExpand, PlainTextIsUntouched) {
  Result<Expanded> result = ExpandEnv("no variables $ here {}", Env({}));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->text, "no variables $ here {}");
  EXPECT_FALSE(result->used_variables);
}

TEST(EnvExpand, DollarBeforeTemplatePlaceholderIsLiteral) {
  Result<Expanded> result = ExpandEnv("${{ data.total }} and ${ spaced }", Env({}));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->text, "${{ data.total }} and ${ spaced }");
}

TEST(EnvExpand, DoubleDollarEscapes) {
  Result<Expanded> result = ExpandEnv("$${HOME}", Env({{"HOME", "/root"}}));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->text, "${HOME}");
}

TEST(EnvExpand, MissingVariableIsNamedWithItsOffset) {
  Result<Expanded> result = ExpandEnv("a ${MISSING_ONE}", Env({}));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(result.error().message, HasSubstr("'MISSING_ONE' is not set"));
  ASSERT_TRUE(result.error().location.has_value());
  EXPECT_EQ(result.error().location->column, 3u);
}

TEST(EnvExpand, EmptyValueIsAllowed) {
  Result<Expanded> result = ExpandEnv("[${EMPTY}]", Env({{"EMPTY", ""}}));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->text, "[]");
}

TEST(EnvExpand, InConfigStringsWithFileLocation) {
  LoadResult result = testing::Load(R"x(
[[observers]]
entity = "Order"
event_type = "INSERT"
actions = [{ type = "log", message_template = "host ${HOSTNAME_X}" }]
)x");
  Diagnostic error = testing::OnlyError(result);
  EXPECT_EQ(error.location.line, 5u);
  EXPECT_EQ(error.location.column, 53u);  // the '$' of ${HOSTNAME_X}
  EXPECT_THAT(error.message, HasSubstr("'HOSTNAME_X' is not set"));
}

}  // namespace
}  // namespace fraiseql
