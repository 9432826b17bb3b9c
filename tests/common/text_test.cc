#include "common/text.h"

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace fraiseql {
namespace {

TEST(TextTest, CaseConversionIsAsciiOnly) {
  EXPECT_EQ(ToUpperAscii("Insert_1-é"), "INSERT_1-é");
  EXPECT_EQ(ToLowerAscii("UPDATE Now"), "update now");
  EXPECT_EQ(ToUpperAscii(""), "");
}

TEST(TextTest, EqualsIgnoreCase) {
  EXPECT_TRUE(EqualsIgnoreCase("DeLeTe", "delete"));
  EXPECT_TRUE(EqualsIgnoreCase("", ""));
  EXPECT_FALSE(EqualsIgnoreCase("delete", "deleted"));
  EXPECT_FALSE(EqualsIgnoreCase("insert", "insers"));
}

TEST(EditDistanceTest, KnownDistances) {
  EXPECT_EQ(EditDistance("", ""), 0u);
  EXPECT_EQ(EditDistance("abc", ""), 3u);
  EXPECT_EQ(EditDistance("", "abcd"), 4u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(EditDistance("flaw", "lawn"), 2u);
  EXPECT_EQ(EditDistance("status", "status"), 0u);
  EXPECT_EQ(EditDistance("status", "stauts"), 2u);  // a transposition is two edits
  EXPECT_EQ(EditDistance("Status", "status"), 1u);  // case-sensitive
}

TEST(EditDistanceTest, IsSymmetric) {
  EXPECT_EQ(EditDistance("entity_type", "entity_id"), EditDistance("entity_id", "entity_type"));
  EXPECT_EQ(EditDistance("sunday", "saturday"), 3u);
  EXPECT_EQ(EditDistance("saturday", "sunday"), 3u);
}

constexpr std::array<std::string_view, 5> kFields = {"entity_type", "entity_id", "tenant_id",
                                                     "timestamp", "user_id"};

TEST(ClosestMatchTest, SuggestsTheNearestCandidate) {
  EXPECT_EQ(ClosestMatch("entity_typ", kFields), std::optional<std::string>("entity_type"));
  EXPECT_EQ(ClosestMatch("timestmp", kFields), std::optional<std::string>("timestamp"));
  EXPECT_EQ(ClosestMatch("USER_ID", kFields), std::optional<std::string>("user_id"));
  EXPECT_EQ(ClosestMatch("tenant_id", kFields), std::optional<std::string>("tenant_id"));
}

TEST(ClosestMatchTest, NothingWhenTooFar) {
  EXPECT_EQ(ClosestMatch("colour", kFields), std::nullopt);
  EXPECT_EQ(ClosestMatch("x", std::span<const std::string_view>()), std::nullopt);
}

TEST(ClosestMatchTest, LimitScalesWithWordLength) {
  constexpr std::array<std::string_view, 1> kOne = {"seq"};
  constexpr std::array<std::string_view, 1> kLong = {"schema_version"};
  // Three letters allow one edit, not two.
  EXPECT_EQ(ClosestMatch("sex", kOne), std::optional<std::string>("seq"));
  EXPECT_EQ(ClosestMatch("sax", kOne), std::nullopt);
  // Long words allow at most three edits.
  EXPECT_EQ(ClosestMatch("schema_vrsn", kLong), std::optional<std::string>("schema_version"));
  EXPECT_EQ(ClosestMatch("schma_vrsn", kLong), std::nullopt);
}

TEST(ClosestMatchTest, FirstOfEquallyCloseCandidatesWins) {
  constexpr std::array<std::string_view, 2> kTwo = {"cat", "bat"};
  EXPECT_EQ(ClosestMatch("mat", kTwo), std::optional<std::string>("cat"));
}

}  // namespace
}  // namespace fraiseql

namespace fraiseql {
namespace {

TEST(TruncateUtf8, ShortTextIsUnchanged) { EXPECT_EQ(TruncateUtf8("abc", 5), "abc"); }

TEST(TruncateUtf8, CutsAtByteLimitWithEllipsis) { EXPECT_EQ(TruncateUtf8("abcdef", 3), "abc..."); }

TEST(TruncateUtf8, NeverSplitsACharacter) {
  // "é" is two bytes (C3 A9); a cut after 2 bytes of "aé" would split it.
  EXPECT_EQ(TruncateUtf8("a\xc3\xa9z", 2), "a...");
  EXPECT_EQ(TruncateUtf8("a\xc3\xa9z", 3), "a\xc3\xa9...");
}

TEST(TrimAsciiSpace, TrimsBothEnds) {
  EXPECT_EQ(TrimAsciiSpace(" \t a b \r\n"), "a b");
  EXPECT_EQ(TrimAsciiSpace("   "), "");
}

}  // namespace
}  // namespace fraiseql
