#include "delivery/delivery.h"

#include <cctype>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "delivery/dead_letter.h"
#include "testing/delivery_builder.h"
#include "testing/event_builder.h"

namespace fraiseql {
namespace {

TEST(DeliveryIdTest, IsAStableVersion5Uuid) {
  const std::string id = MakeDeliveryId("7c9e6679-7425-40de-944b-e07fc1f90ae7", "orders", 0);
  // 8-4-4-4-12 lower-case hex, version 5, RFC 9562 variant (10xx).
  ASSERT_EQ(id.size(), 36u);
  for (size_t i = 0; i < id.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      EXPECT_EQ(id[i], '-') << id;
    } else {
      EXPECT_TRUE(std::isxdigit(static_cast<unsigned char>(id[i])) && !std::isupper(static_cast<unsigned char>(id[i])))
          << id;
    }
  }
  EXPECT_EQ(id[14], '5') << id;
  EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;
  // Pinned: every idempotency key ever sent derives from this function, so it must never change.
  // Independently: Python's uuid.uuid5(UUID("3b4f0e62-8d1a-4c55-9a27-61d20f7eb3c8"),
  // "7c9e6679-7425-40de-944b-e07fc1f90ae7/orders/0") gives the same.
  EXPECT_EQ(id, MakeDeliveryId("7c9e6679-7425-40de-944b-e07fc1f90ae7", "orders", 0));
  EXPECT_EQ(id, "05560432-d51d-5fd5-9cd2-6d8c6eeb03fd");
}

TEST(DeliveryIdTest, DiffersByEventObserverAndActionIndex) {
  const std::string base = MakeDeliveryId("7c9e6679-7425-40de-944b-e07fc1f90ae7", "orders", 0);
  EXPECT_NE(base, MakeDeliveryId("7c9e6679-7425-40de-944b-e07fc1f90ae8", "orders", 0));
  EXPECT_NE(base, MakeDeliveryId("7c9e6679-7425-40de-944b-e07fc1f90ae7", "orders2", 0));
  EXPECT_NE(base, MakeDeliveryId("7c9e6679-7425-40de-944b-e07fc1f90ae7", "orders", 1));
  // The separator keeps names from running into indexes.
  EXPECT_NE(MakeDeliveryId("e", "a/1", 0), MakeDeliveryId("e", "a", 10));
}

TEST(AttemptToJsonTest, ShowsStatusErrorAndDuration) {
  AttemptRecord attempt;
  attempt.outcome = DeliveryOutcomeKind::kRetryable;
  attempt.status = 503;
  attempt.error = "HTTP 503";
  attempt.duration = std::chrono::microseconds(1500);
  const nlohmann::json json = AttemptToJson(attempt);
  EXPECT_EQ(json["status"], 503);
  EXPECT_EQ(json["error"], "HTTP 503");
  EXPECT_EQ(json["duration_ms"], 1.5);
  EXPECT_EQ(json["outcome"], "retryable");
  EXPECT_TRUE(AttemptToJson(AttemptRecord{})["status"].is_null());
}

TEST(AttemptFromJsonTest, ReadsWhatAttemptToJsonWrites) {
  AttemptRecord attempt = testing::NewAttempt(503, "HTTP 503", 7);
  Result<AttemptRecord> back = AttemptFromJson(AttemptToJson(attempt));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, attempt);

  AttemptRecord bare;
  bare.started_at = attempt.started_at;
  bare.outcome = DeliveryOutcomeKind::kSuccess;
  back = AttemptFromJson(AttemptToJson(bare));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, bare);
}

TEST(AttemptFromJsonTest, NamesWhatIsWrong) {
  using ::testing::HasSubstr;
  EXPECT_THAT(AttemptFromJson(nlohmann::json::array()).error().message, HasSubstr("not a JSON object"));
  EXPECT_THAT(AttemptFromJson({{"outcome", "success"}}).error().message, HasSubstr("started_at"));
  EXPECT_THAT(AttemptFromJson({{"started_at", "2026-01-01T00:00:00Z"}, {"outcome", "maybe"}}).error().message,
              HasSubstr("maybe"));
  EXPECT_THAT(
      AttemptFromJson({{"started_at", "2026-01-01T00:00:00Z"}, {"outcome", "success"}, {"status", "x"}}).error().message,
      HasSubstr("status"));
}

TEST(DeadLetterTest, OfADeliveryKeepsItsIdEventActionAndEveryAttempt) {
  Delivery delivery = testing::NewDelivery(testing::NewEvent("Order", 3), "orders", 1);
  delivery.attempts = {testing::NewAttempt(503, "HTTP 503", 1), testing::NewAttempt(400, "HTTP 400", 2)};
  const DeadLetter letter = DeadLetterOf(delivery, "webhook", "HTTP 400");
  EXPECT_EQ(letter.delivery_id, delivery.id);
  EXPECT_EQ(letter.observer, "orders");
  EXPECT_EQ(letter.action_index, 1u);
  EXPECT_EQ(letter.action_type, "webhook");
  EXPECT_EQ(letter.entity_type, "Order");
  EXPECT_EQ(letter.attempts, delivery.attempts);
  EXPECT_EQ(letter.reason, "HTTP 400");
  EXPECT_TRUE(letter.listener_id.empty());  // the queue knows it
  EXPECT_TRUE(letter.redrivable());
  EXPECT_EQ(letter.failure(), DeadLetterFailure::kPermanent);  // the 400 came last
  EXPECT_FALSE(letter.transient());
  EXPECT_FALSE(DeadLetterOf(delivery, "", "x").action_type);
}

TEST(DeadLetterTest, JsonLeavesAbsentFieldsOutAndAPipelineFailureIsNotRetryable) {
  DeadLetter failure;
  failure.listener_id = "default";
  failure.change_log_pk = 99;
  failure.row_data = nlohmann::json{{"modification_type", "MERGE"}};
  failure.reason = "unknown modification_type";
  EXPECT_FALSE(failure.redrivable());
  EXPECT_EQ(failure.failure(), DeadLetterFailure::kPipeline);
  const nlohmann::json json = DeadLetterToJson(failure);
  EXPECT_EQ(json["change_log_pk"], 99);
  EXPECT_EQ(json["row_data"]["modification_type"], "MERGE");
  EXPECT_FALSE(json.contains("delivery_id"));
  EXPECT_FALSE(json.contains("event"));
  EXPECT_TRUE(json["attempts"].is_array());
}

TEST(DeadLetterTest, FailureIsWhatTheLastAttemptWas) {
  Delivery delivery = testing::NewDelivery(testing::NewEvent("Order", 4), "orders", 0);
  delivery.attempts = {testing::NewAttempt(404, "HTTP 404", 1), testing::NewAttempt(503, "HTTP 503", 2)};
  DeadLetter exhausted = DeadLetterOf(delivery, "webhook", "gave up after 2 attempts: HTTP 503 (retryable)");
  EXPECT_EQ(exhausted.failure(), DeadLetterFailure::kExhausted);
  EXPECT_TRUE(exhausted.transient());
  delivery.attempts.clear();
  const DeadLetter unattempted = DeadLetterOf(delivery, "", "observer 'orders' has no enabled action 0");
  EXPECT_EQ(unattempted.failure(), DeadLetterFailure::kNotAttempted);
  EXPECT_FALSE(unattempted.transient());
  EXPECT_TRUE(unattempted.redrivable());
  EXPECT_EQ(DeadLetterFailureName(DeadLetterFailure::kNotAttempted), "not_attempted");
}

// The row form every dead-letter store writes and `dlq show --format json` prints.
TEST(DeadLetterTest, JsonRedactsUrlsInTheReasonAndTheAttempts) {
  Delivery delivery = testing::NewDelivery(testing::NewEvent("Order", 5), "orders", 0);
  delivery.attempts = {testing::NewAttempt(0, "Failed to connect to https://u:hunter2@h/x?token=abc (refused)", 1)};
  const nlohmann::json json =
      DeadLetterToJson(DeadLetterOf(delivery, "webhook", "gave up: https://u:hunter2@h/x?token=abc"));
  EXPECT_EQ(json["reason"], "gave up: https://<redacted>@h/x?token=<redacted>");
  EXPECT_EQ(json["attempts"][0]["error"], "Failed to connect to https://<redacted>@h/x?token=<redacted> (refused)");
  EXPECT_EQ(json.dump().find("hunter2"), std::string::npos);
  EXPECT_EQ(json.dump().find("abc"), std::string::npos);
}

}  // namespace
}  // namespace fraiseql
