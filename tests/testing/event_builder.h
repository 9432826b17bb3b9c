// Events for tests and benchmarks: an UPDATE of an Order with valid ids, a tenant, an actor and
// a fixed time, so each test or benchmark states only the data it is about.
// Thread-safety: pure functions.
#pragma once

#include <utility>

#include <nlohmann/json.hpp>

#include "event/entity_event.h"

namespace fraiseql::testing {

inline constexpr const char* kOrderEventId = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
inline constexpr const char* kOrderEntityId = "550e8400-e29b-41d4-a716-446655440000";

inline EntityEvent MakeOrderUpdate(nlohmann::json data, nlohmann::json changes,
                                   const char* timestamp = "2026-11-29T12:00:00.5Z") {
  EntityEvent event;
  event.id = kOrderEventId;
  event.event_type = EventKind::kUpdate;
  event.entity_type = "Order";
  event.entity_id = kOrderEntityId;
  event.data = std::move(data);
  event.changes = std::move(changes);
  event.user_id = "u-7";
  event.tenant_id = "t-1";
  event.timestamp = *ParseTimestamp(timestamp);
  return event;
}

}  // namespace fraiseql::testing
