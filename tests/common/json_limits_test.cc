#include "common/json_limits.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fraiseql {
namespace {

using ::testing::HasSubstr;

std::string Nested(size_t depth, char open = '[', char close = ']') {
  return std::string(depth, open) + std::string(depth, close);
}

// {"a":{"a":...{"a":1}...}}
std::string NestedObjects(size_t depth) {
  std::string text;
  for (size_t i = 0; i < depth; ++i) text += "{\"a\":";
  text += "1";
  text += std::string(depth, '}');
  return text;
}

void ExpectRefusal(const Result<void>& result, std::string_view code, const std::string& message) {
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(result.error().DetailCode(kJsonErrorDomain), code);
  EXPECT_THAT(result.error().message, HasSubstr(message));
}

TEST(CheckJsonLimits, DefaultsAreDocumented) {
  // docs/security.md states these numbers; change both together.
  EXPECT_EQ(kDefaultJsonMaxDepth, 128u);
  EXPECT_EQ(kDefaultJsonMaxBytes, 64u << 20);
}

TEST(CheckJsonLimits, DepthUpToTheLimitPasses) {
  EXPECT_TRUE(CheckJsonLimits(Nested(kDefaultJsonMaxDepth)));
  EXPECT_TRUE(CheckJsonLimits(NestedObjects(kDefaultJsonMaxDepth)));
  EXPECT_TRUE(CheckJsonLimits("1"));
  EXPECT_TRUE(CheckJsonLimits(""));
}

TEST(CheckJsonLimits, OneLevelMoreIsRefusedAtTheByteThatOpensIt) {
  Result<void> arrays = CheckJsonLimits(Nested(kDefaultJsonMaxDepth + 1));
  ExpectRefusal(arrays, kJsonTooDeep, "JSON nests deeper than 128 levels of arrays and objects (at byte offset 128)");
  EXPECT_EQ(arrays.error().location, (SourceLocation{"", 1, 129}));

  // Each level of objects is 5 bytes: {"a":
  Result<void> objects = CheckJsonLimits(NestedObjects(kDefaultJsonMaxDepth + 1));
  ExpectRefusal(objects, kJsonTooDeep, "at byte offset " + std::to_string(5 * kDefaultJsonMaxDepth) + ")");
}

TEST(CheckJsonLimits, AHundredThousandLevelsAreRefusedWithoutRecursion) {
  ExpectRefusal(CheckJsonLimits(Nested(100'000)), kJsonTooDeep, "deeper than 128 levels");
  ExpectRefusal(CheckJsonLimits(NestedObjects(100'000)), kJsonTooDeep, "deeper than 128 levels");
  ExpectRefusal(CheckJsonLimits(std::string(100'000, '[')), kJsonTooDeep, "deeper than 128 levels");
}

TEST(CheckJsonLimits, DepthIsMeasuredNotCounted) {
  // Siblings do not add up: a thousand arrays side by side are one level deep.
  std::string wide = "[";
  for (int i = 0; i < 1000; ++i) wide += (i ? ",[]" : "[]");
  wide += "]";
  EXPECT_TRUE(CheckJsonLimits(wide, {2, kDefaultJsonMaxBytes}));
  EXPECT_FALSE(CheckJsonLimits(wide, {1, kDefaultJsonMaxBytes}));
  EXPECT_TRUE(CheckJsonLimits(Nested(3) + Nested(3), {3, kDefaultJsonMaxBytes}));
}

TEST(CheckJsonLimits, BracketsInsideStringsDoNotNest) {
  const std::string deep_text = "\"" + Nested(1000) + "\"";
  EXPECT_TRUE(CheckJsonLimits(deep_text, {0, kDefaultJsonMaxBytes}));
  // An escaped quote does not end the string; an escaped backslash does not escape the quote.
  EXPECT_TRUE(CheckJsonLimits(R"(["\"[[[[", "\\"])", {1, kDefaultJsonMaxBytes}));
  EXPECT_FALSE(CheckJsonLimits(R"(["\\", [[]]])", {2, kDefaultJsonMaxBytes}));
  EXPECT_TRUE(CheckJsonLimits(R"({"k\u0022[[": "]]]"})", {1, kDefaultJsonMaxBytes}));
}

TEST(CheckJsonLimits, SizeUpToTheLimitPassesOneByteMoreIsRefused) {
  const JsonLimits limits{kDefaultJsonMaxDepth, 1024};
  const std::string at_limit = "\"" + std::string(1022, 'x') + "\"";
  EXPECT_TRUE(CheckJsonLimits(at_limit, limits));
  Result<void> over = CheckJsonLimits(at_limit + " ", limits);
  ExpectRefusal(over, kJsonTooLarge, "JSON text of 1025 bytes is over the limit of 1024 bytes (at byte offset 1024)");
}

TEST(CheckJsonLimits, AHugeStringOverTheDefaultIsRefused) {
  const std::string huge = "\"" + std::string(kDefaultJsonMaxBytes, 'x') + "\"";
  ExpectRefusal(CheckJsonLimits(huge), kJsonTooLarge, "over the limit of 64 MiB");
  // Just under the limit, a huge string is fine: size is the only thing it costs.
  EXPECT_TRUE(CheckJsonLimits(std::string_view(huge).substr(0, kDefaultJsonMaxBytes)));
}

TEST(ParseJsonWithin, ParsesWhatIsWithinTheLimits) {
  Result<nlohmann::json> parsed = ParseJsonWithin(R"({"a": [1, {"b": "[["}]})");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ((*parsed)["a"][1]["b"], "[[");
  Result<nlohmann::json> deepest = ParseJsonWithin(Nested(kDefaultJsonMaxDepth));
  ASSERT_TRUE(deepest);
  EXPECT_EQ(deepest->dump().size(), 2 * kDefaultJsonMaxDepth);
}

TEST(ParseJsonWithin, RefusesBeforeParsing) {
  Result<nlohmann::json> deep = ParseJsonWithin(Nested(100'000));
  ASSERT_FALSE(deep);
  EXPECT_EQ(deep.error().DetailCode(kJsonErrorDomain), kJsonTooDeep);
}

TEST(ParseJsonWithin, ASyntaxErrorNamesItsByteOffsetLineAndColumn) {
  Result<nlohmann::json> bad = ParseJsonWithin("{\n  \"a\": tru\n}");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().DetailCode(kJsonErrorDomain), kJsonSyntax);
  // The offset is the last byte the parser read: the line break that ends `tru`.
  EXPECT_THAT(bad.error().message,
              HasSubstr("invalid JSON at byte offset 12: syntax error while parsing value - invalid literal"));
  EXPECT_THAT(bad.error().message, ::testing::Not(HasSubstr("json.exception")));
  EXPECT_THAT(bad.error().message, ::testing::Not(HasSubstr("column 0")));
  EXPECT_EQ(bad.error().location, (SourceLocation{"", 2, 11}));

  // nlohmann throws out_of_range, not parse_error, for this one: it must not escape.
  Result<nlohmann::json> overflow = ParseJsonWithin("{\"total\": 1e309}");
  ASSERT_FALSE(overflow);
  EXPECT_EQ(overflow.error().DetailCode(kJsonErrorDomain), kJsonSyntax);
  EXPECT_EQ(overflow.error().message, "invalid JSON at byte offset 14: number overflow parsing '1e309'");
  EXPECT_EQ(overflow.error().location, (SourceLocation{"", 1, 15}));

  Result<nlohmann::json> empty = ParseJsonWithin("");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().DetailCode(kJsonErrorDomain), kJsonSyntax);
  EXPECT_EQ(empty.error().location, (SourceLocation{"", 1, 1}));
}

}  // namespace
}  // namespace fraiseql
