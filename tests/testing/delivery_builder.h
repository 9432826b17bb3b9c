// Deliveries for tests and benchmarks: events with distinct ids (so their deliveries have distinct
// ids), deliveries of them, and attempts with fixed times, so each test states only what matters.
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "delivery/delivery.h"
#include "event/entity_event.h"

namespace fraiseql::testing {

// "00000000-0000-4000-8000-<n, 12 digits>": a UUID per number.
inline std::string NumberedUuid(int64_t n) {
  char id[40];
  std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012lld", static_cast<long long>(n));
  return id;
}

// An INSERT of `entity_type` with id NumberedUuid(n) and data {"n": n}.
inline std::shared_ptr<const EntityEvent> NewEvent(std::string_view entity_type, int n) {
  EntityEvent event;
  event.id = NumberedUuid(n);
  event.event_type = EventKind::kInsert;
  event.entity_type = std::string(entity_type);
  event.entity_id = "550e8400-e29b-41d4-a716-446655440000";
  event.data = {{"n", n}};
  event.changes = nullptr;
  event.timestamp = *ParseTimestamp("2026-11-29T12:00:00Z");
  return std::make_shared<const EntityEvent>(std::move(event));
}

inline Delivery NewDelivery(std::shared_ptr<const EntityEvent> event, std::string observer, size_t action_index = 0) {
  Delivery delivery;
  delivery.id = MakeDeliveryId(event->id, observer, action_index);
  delivery.event = std::move(event);
  delivery.observer = std::move(observer);
  delivery.action_index = action_index;
  return delivery;
}

// A failed attempt (retryable for 5xx, else permanent) at 2026-01-01 plus `seconds_after_2026`.
inline AttemptRecord NewAttempt(int status, std::string error, int64_t seconds_after_2026 = 0) {
  AttemptRecord attempt;
  attempt.started_at = std::chrono::sys_days(std::chrono::year(2026) / 1 / 1) + std::chrono::seconds(seconds_after_2026);
  attempt.outcome = status >= 500 ? DeliveryOutcomeKind::kRetryable : DeliveryOutcomeKind::kPermanent;
  attempt.status = status;
  attempt.error = std::move(error);
  attempt.duration = std::chrono::microseconds(12'345);
  return attempt;
}

}  // namespace fraiseql::testing
