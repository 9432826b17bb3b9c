#include "executor/delivery.h"

#include <cctype>

#include <gtest/gtest.h>

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

TEST(DeliveriesForTest, OneDeliveryPerActionInOrder) {
  ObserverConfig first;
  first.name = "first";
  first.actions.resize(2);
  ObserverConfig second;
  second.name = "second";
  second.actions.resize(1);
  auto event = std::make_shared<EntityEvent>(testing::MakeOrderUpdate({}, nullptr));
  const std::vector<Delivery> deliveries = DeliveriesFor(event, {&first, &second});
  ASSERT_EQ(deliveries.size(), 3u);
  EXPECT_EQ(deliveries[0].observer, "first");
  EXPECT_EQ(deliveries[0].action_index, 0u);
  EXPECT_EQ(deliveries[1].action_index, 1u);
  EXPECT_EQ(deliveries[2].observer, "second");
  EXPECT_EQ(deliveries[2].id, MakeDeliveryId(event->id, "second", 0));
  EXPECT_TRUE(deliveries[0].attempts.empty());
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

}  // namespace
}  // namespace fraiseql
