#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "common/timestamp.h"

namespace fraiseql {
namespace {

// 2026-11-29T12:00:00Z.
constexpr int64_t kNoonSeconds = 1'795'953'600;

Timestamp Noon(int64_t plus_micros = 0) {
  return Timestamp{std::chrono::seconds(kNoonSeconds)} + std::chrono::microseconds(plus_micros);
}

Timestamp Parsed(std::string_view text) {
  Result<Timestamp> result = ParseTimestamp(text);
  EXPECT_TRUE(result) << text << ": " << result.error().message;
  return result ? *result : Timestamp{};
}

void ExpectRejected(std::string_view text) {
  Result<Timestamp> result = ParseTimestamp(text);
  ASSERT_FALSE(result) << text << " parsed as " << FormatTimestamp(*result);
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(result.error().message,
            "'" + std::string(text) + "' is not an RFC 3339 or PostgreSQL timestamp");
}

TEST(ParseTimestampTest, Rfc3339Utc) {
  EXPECT_EQ(Parsed("2026-11-29T12:00:00Z"), Noon());
  EXPECT_EQ(Parsed("2026-11-29T12:00:00.5Z"), Noon(500'000));
  EXPECT_EQ(Parsed("2026-11-29t12:00:00.000001z"), Noon(1));
  EXPECT_EQ(Parsed("1970-01-01T00:00:00Z"), Timestamp{});
}

TEST(ParseTimestampTest, Offsets) {
  EXPECT_EQ(Parsed("2026-11-29T14:00:00+02:00"), Noon());
  EXPECT_EQ(Parsed("2026-11-29T06:30:00-05:30"), Noon());
  EXPECT_EQ(Parsed("2026-11-29T06:30:00-0530"), Noon());
  EXPECT_EQ(Parsed("2026-11-29T12:00:00+00:00"), Noon());
  EXPECT_EQ(Parsed("2026-11-29T12:00:00-00:00"), Noon());
  // Offsets move the date too.
  EXPECT_EQ(Parsed("2026-11-30T01:00:00+13:00"), Noon());
}

TEST(ParseTimestampTest, PostgresTextForm) {
  EXPECT_EQ(Parsed("2026-11-29 12:00:00.123456+00"), Noon(123'456));
  EXPECT_EQ(Parsed("2026-11-29 13:00:00+01"), Noon());
  EXPECT_EQ(Parsed("2026-11-29 12:00:00.5"), Noon(500'000));
}

TEST(ParseTimestampTest, NoOffsetMeansUtc) {
  EXPECT_EQ(Parsed("2026-11-29T12:00:00"), Noon());
  EXPECT_EQ(Parsed("2026-11-29 12:00:00"), Noon());
}

TEST(ParseTimestampTest, FractionsAreTruncatedToMicroseconds) {
  EXPECT_EQ(Parsed("2026-11-29T12:00:00.1234567Z"), Noon(123'456));
  EXPECT_EQ(Parsed("2026-11-29T12:00:00.999999999Z"), Noon(999'999));
  EXPECT_EQ(Parsed("2026-11-29T12:00:00.12Z"), Noon(120'000));
}

TEST(ParseTimestampTest, LeapDays) {
  EXPECT_EQ(FormatTimestamp(Parsed("2028-02-29T00:00:00Z")), "2028-02-29T00:00:00.000000Z");
  EXPECT_EQ(FormatTimestamp(Parsed("2000-02-29T00:00:00Z")), "2000-02-29T00:00:00.000000Z");
  ExpectRejected("2026-02-29T00:00:00Z");
  ExpectRejected("1900-02-29T00:00:00Z");
}

TEST(ParseTimestampTest, RejectsInvalidDatesAndTimes) {
  ExpectRejected("2026-13-01T00:00:00Z");
  ExpectRejected("2026-00-10T00:00:00Z");
  ExpectRejected("2026-04-31T00:00:00Z");
  ExpectRejected("2026-11-00T00:00:00Z");
  ExpectRejected("2026-11-29T24:00:00Z");
  ExpectRejected("2026-11-29T12:60:00Z");
  ExpectRejected("2026-11-29T12:00:61Z");
}

TEST(ParseTimestampTest, RejectsMalformedText) {
  ExpectRejected("");
  ExpectRejected("yesterday");
  ExpectRejected("2026-11-29");
  ExpectRejected("2026-11-29T12:00");
  ExpectRejected("2026-1-29T12:00:00Z");
  ExpectRejected("2026/11/29 12:00:00");
  ExpectRejected("2026-11-29T12:00:00ZZ");
  ExpectRejected("2026-11-29T12:00:00+2");
  ExpectRejected("2026-11-29T12:00:00+02:0");
  ExpectRejected("2026-11-29T12:00:00 +02:00");
  ExpectRejected("2026-11-29T12:00:00.Z");
}

TEST(ParseTimestampTest, RejectsOutOfRangeOffsets) {
  ExpectRejected("2026-11-29T12:00:00+24:00");
  ExpectRejected("2026-11-29T12:00:00+02:60");
  ExpectRejected("2026-11-29T12:00:00-9999");
}

TEST(FormatTimestampTest, WritesUtcWithMicroseconds) {
  EXPECT_EQ(FormatTimestamp(Noon()), "2026-11-29T12:00:00.000000Z");
  EXPECT_EQ(FormatTimestamp(Noon(123'456)), "2026-11-29T12:00:00.123456Z");
  EXPECT_EQ(FormatTimestamp(Timestamp{}), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatTimestamp(Timestamp{std::chrono::microseconds(-1)}),
            "1969-12-31T23:59:59.999999Z");
}

TEST(FormatTimestampTest, RoundTrips) {
  for (const char* text : {"2026-11-29T12:00:00.000000Z", "2026-11-29T23:59:59.999999Z",
                           "1999-12-31T00:00:00.000001Z", "2038-01-19T03:14:08.000000Z",
                           "9999-12-31T23:59:59.999999Z", "0001-01-01T00:00:00.000000Z"}) {
    EXPECT_EQ(FormatTimestamp(Parsed(text)), text);
  }
  const Timestamp odd = Noon(987'654'321);
  EXPECT_EQ(Parsed(FormatTimestamp(odd)), odd);
}

}  // namespace
}  // namespace fraiseql
