#include "actions/outcome.h"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace fraiseql {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// 1994-11-06 08:49:37 UTC, the RFC's example date.
const std::chrono::system_clock::time_point kNow =
    std::chrono::sys_days(std::chrono::year(1994) / std::chrono::November / 6) + std::chrono::hours(8) +
    std::chrono::minutes(49) + std::chrono::seconds(37);
constexpr milliseconds kMaxDelay = std::chrono::hours(1);

DeliveryOutcome Http(int status, std::optional<std::string_view> retry_after = std::nullopt) {
  return ClassifyHttpStatus(status, retry_after, kNow, kMaxDelay);
}

TEST(ClassifyHttpStatusTest, TwoHundredsSucceed) {
  for (int status : {200, 201, 202, 204, 299}) {
    const DeliveryOutcome outcome = Http(status);
    EXPECT_EQ(outcome.kind, DeliveryOutcomeKind::kSuccess) << status;
    EXPECT_EQ(outcome.http_status, status);
    EXPECT_FALSE(outcome.target_gone);
    EXPECT_FALSE(outcome.retry_after.has_value());
  }
  EXPECT_EQ(Http(200).message, "HTTP 200 OK");
  EXPECT_EQ(Http(204).message, "HTTP 204 No Content");
  EXPECT_EQ(Http(299).message, "HTTP 299");
}

TEST(ClassifyHttpStatusTest, ServerErrorsAreRetryable) {
  for (int status : {500, 502, 503, 504, 599}) {
    EXPECT_EQ(Http(status).kind, DeliveryOutcomeKind::kRetryable) << status;
  }
  EXPECT_EQ(Http(503).message, "HTTP 503 Service Unavailable (retryable)");
  EXPECT_EQ(Http(500).message, "HTTP 500 Internal Server Error (retryable)");
}

TEST(ClassifyHttpStatusTest, TimeoutTooEarlyAndRateLimitAreRetryable) {
  EXPECT_EQ(Http(408).kind, DeliveryOutcomeKind::kRetryable);
  EXPECT_EQ(Http(425).kind, DeliveryOutcomeKind::kRetryable);
  EXPECT_EQ(Http(429).kind, DeliveryOutcomeKind::kRetryable);
  EXPECT_EQ(Http(408).message, "HTTP 408 Request Timeout (retryable)");
  EXPECT_EQ(Http(429).message, "HTTP 429 Too Many Requests (retryable)");
}

TEST(ClassifyHttpStatusTest, OtherClientErrorsArePermanent) {
  for (int status : {400, 401, 403, 404, 405, 409, 413, 422, 499}) {
    const DeliveryOutcome outcome = Http(status);
    EXPECT_EQ(outcome.kind, DeliveryOutcomeKind::kPermanent) << status;
    EXPECT_FALSE(outcome.target_gone) << status;
  }
  EXPECT_EQ(Http(404).message, "HTTP 404 Not Found (permanent)");
  EXPECT_EQ(Http(499).message, "HTTP 499 (permanent)");
}

TEST(ClassifyHttpStatusTest, GoneIsPermanentAndMarksTheTarget) {
  const DeliveryOutcome outcome = Http(410);
  EXPECT_EQ(outcome.kind, DeliveryOutcomeKind::kPermanent);
  EXPECT_TRUE(outcome.target_gone);
  EXPECT_EQ(outcome.http_status, 410);
  EXPECT_EQ(outcome.message, "HTTP 410 Gone (permanent: the target is gone)");
}

TEST(ClassifyHttpStatusTest, RedirectsArePermanent) {
  for (int status : {300, 301, 302, 303, 307, 308}) {
    EXPECT_EQ(Http(status).kind, DeliveryOutcomeKind::kPermanent) << status;
  }
  EXPECT_EQ(Http(301).message, "HTTP 301 Moved Permanently (permanent: redirects are not followed)");
}

TEST(ClassifyHttpStatusTest, InformationalIsPermanent) {
  EXPECT_EQ(Http(100).kind, DeliveryOutcomeKind::kPermanent);
  EXPECT_EQ(Http(100).message,
            "HTTP 100 Continue (permanent: informational status is not a final response)");
}

TEST(ClassifyHttpStatusTest, OutOfRangeIsPermanent) {
  EXPECT_EQ(Http(0).kind, DeliveryOutcomeKind::kPermanent);
  EXPECT_EQ(Http(99).message, "HTTP 99 (permanent: not a valid HTTP status)");
  EXPECT_EQ(Http(600).message, "HTTP 600 (permanent: not a valid HTTP status)");
  EXPECT_EQ(Http(-1).message, "HTTP -1 (permanent: not a valid HTTP status)");
}

TEST(ClassifyHttpStatusTest, RetryAfterDeltaSeconds) {
  const DeliveryOutcome outcome = Http(503, "120");
  ASSERT_TRUE(outcome.retry_after.has_value());
  EXPECT_EQ(*outcome.retry_after, seconds(120));
  EXPECT_EQ(outcome.message, "HTTP 503 Service Unavailable (retryable)");
}

TEST(ClassifyHttpStatusTest, RetryAfterZeroAndWhitespace) {
  EXPECT_EQ(Http(429, "0").retry_after, milliseconds(0));
  EXPECT_EQ(Http(429, "  7 ").retry_after, seconds(7));
}

TEST(ClassifyHttpStatusTest, RetryAfterIsCappedAtMaxDelay) {
  EXPECT_EQ(Http(429, "7200").retry_after, kMaxDelay);
  EXPECT_EQ(Http(429, "99999999999999999999999999").retry_after, kMaxDelay);
}

TEST(ClassifyHttpStatusTest, RetryAfterImfFixdate) {
  EXPECT_EQ(Http(503, "Sun, 06 Nov 1994 08:51:37 GMT").retry_after, seconds(120));
}

TEST(ClassifyHttpStatusTest, RetryAfterRfc850Date) {
  EXPECT_EQ(Http(503, "Sunday, 06-Nov-94 08:50:07 GMT").retry_after, seconds(30));
}

TEST(ClassifyHttpStatusTest, RetryAfterAsctimeDate) {
  EXPECT_EQ(Http(503, "Sun Nov  6 08:49:47 1994").retry_after, seconds(10));
}

TEST(ClassifyHttpStatusTest, RetryAfterDateInThePastMeansNow) {
  EXPECT_EQ(Http(503, "Sat, 05 Nov 1994 08:49:37 GMT").retry_after, milliseconds(0));
  EXPECT_EQ(Http(503, "Sun, 06 Nov 1994 08:49:37 GMT").retry_after, milliseconds(0));
}

TEST(ClassifyHttpStatusTest, RetryAfterDateIsCapped) {
  EXPECT_EQ(Http(503, "Sun, 06 Nov 1995 08:49:37 GMT").retry_after, kMaxDelay);
}

TEST(ClassifyHttpStatusTest, GarbageRetryAfterIsIgnored) {
  for (std::string_view garbage :
       {"", "soon", "-5", "1.5", "12abc", "Sun, 32 Nov 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 25:00:00 GMT", "Sun, 06 Nov 1994 08:49:37 PST", "Sun, 31 Feb 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49 GMT", ",,,", "Sun Nov 6"}) {
    const DeliveryOutcome outcome = Http(503, garbage);
    EXPECT_EQ(outcome.kind, DeliveryOutcomeKind::kRetryable) << garbage;
    EXPECT_FALSE(outcome.retry_after.has_value()) << garbage;
  }
}

TEST(ClassifyHttpStatusTest, RetryAfterOnlyOnRetryableOutcomes) {
  EXPECT_FALSE(Http(301, "120").retry_after.has_value());
  EXPECT_FALSE(Http(404, "120").retry_after.has_value());
  EXPECT_FALSE(Http(200, "120").retry_after.has_value());
}

TEST(ClassifyHttpStatusTest, NegativeMaxDelayClampsToZero) {
  EXPECT_EQ(ClassifyHttpStatus(503, "120", kNow, milliseconds(-5)).retry_after, milliseconds(0));
}

TEST(ParseRetryAfterTest, SubSecondDateDifferenceRoundsUp) {
  const auto now = kNow - milliseconds(1500);  // 1.5 s before the named instant
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", now), milliseconds(1500));
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", kNow - std::chrono::microseconds(1)),
            milliseconds(1));
}

TEST(ParseRetryAfterTest, TwoDigitYearFarInTheFutureIsLastCentury) {
  // From 1994, "44" would be 2044 (50 years on) and "45" would be 2045 (> 50): 1945 instead.
  EXPECT_EQ(ParseRetryAfter("Sunday, 06-Nov-45 08:49:37 GMT", kNow), milliseconds(0));
  EXPECT_EQ(ParseRetryAfter("Sunday, 06-Nov-95 08:49:37 GMT", kNow),
            milliseconds(std::chrono::hours(24) * 365));
  // "05" is 11 years ahead, not 89 years back.
  EXPECT_EQ(ParseRetryAfter("Saturday, 06-Nov-04 08:49:37 GMT", kNow),
            milliseconds(std::chrono::hours(24) * (365 * 10 + 3)));
}

TEST(ClassifySmtpReplyTest, PositiveRepliesSucceed) {
  const DeliveryOutcome ok = ClassifySmtpReply(250, "2.0.0 OK queued as 12345\r\n");
  EXPECT_EQ(ok.kind, DeliveryOutcomeKind::kSuccess);
  EXPECT_EQ(ok.http_status, 0);
  EXPECT_EQ(ok.message, "SMTP 250 2.0.0 OK queued as 12345");
  EXPECT_EQ(ClassifySmtpReply(354, "Start mail input").kind, DeliveryOutcomeKind::kSuccess);
}

TEST(ClassifySmtpReplyTest, TransientNegativeIsRetryable) {
  const DeliveryOutcome outcome = ClassifySmtpReply(451, "4.7.1 Greylisted, try later");
  EXPECT_EQ(outcome.kind, DeliveryOutcomeKind::kRetryable);
  EXPECT_EQ(outcome.message, "SMTP 451 4.7.1 Greylisted, try later (retryable)");
  EXPECT_FALSE(outcome.retry_after.has_value());
}

TEST(ClassifySmtpReplyTest, PermanentNegativeIsPermanent) {
  const DeliveryOutcome outcome = ClassifySmtpReply(550, "5.1.1 User unknown");
  EXPECT_EQ(outcome.kind, DeliveryOutcomeKind::kPermanent);
  EXPECT_EQ(outcome.message, "SMTP 550 5.1.1 User unknown (permanent)");
  EXPECT_FALSE(outcome.target_gone);
}

TEST(ClassifySmtpReplyTest, UnexpectedCodesArePermanent) {
  EXPECT_EQ(ClassifySmtpReply(199, "").message, "SMTP 199 (permanent: unexpected reply code)");
  EXPECT_EQ(ClassifySmtpReply(600, "x").kind, DeliveryOutcomeKind::kPermanent);
}

TEST(ClassifySmtpReplyTest, LongReplyTextIsTruncated) {
  const std::string text(500, 'a');
  const DeliveryOutcome outcome = ClassifySmtpReply(554, text);
  EXPECT_EQ(outcome.message, "SMTP 554 " + std::string(200, 'a') + "... (permanent)");
}

TEST(DeliveryOutcomeKindNameTest, Names) {
  EXPECT_EQ(DeliveryOutcomeKindName(DeliveryOutcomeKind::kSuccess), "success");
  EXPECT_EQ(DeliveryOutcomeKindName(DeliveryOutcomeKind::kRetryable), "retryable");
  EXPECT_EQ(DeliveryOutcomeKindName(DeliveryOutcomeKind::kPermanent), "permanent");
}

}  // namespace
}  // namespace fraiseql
