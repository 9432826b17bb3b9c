// The fixed events the fuzzers evaluate and render against: an UPDATE with a before-image
// (built from a change-log row, as the daemon does) and an INSERT (built from event JSON).
// Values include quotes, backslashes, glob characters, control characters, non-ASCII text,
// large and negative numbers, nested objects and arrays, so renderers meet every JSON kind.
#pragma once

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "event/entity_event.h"

namespace fraiseql::fuzz {

inline constexpr const char* kUpdateRow = R"json({
  "pk_entity_change_log": 42,
  "id": "7D3F8A52-3C1E-4B8E-9A55-2F1C0E6D9B10",
  "object_type": "Order",
  "modification_type": "UPDATE",
  "object_id": "0b6e2f3c-8d4a-4f7e-b1a2-9c3d5e7f1a2b",
  "created_at": "2026-11-29 12:00:00.123456+00",
  "tenant_id": "5f0c9e1a-2b3c-4d5e-8f90-a1b2c3d4e5f6",
  "fk_contact": 1001,
  "duration_ms": 12,
  "seq": 9007199254740993,
  "actor_type": "user",
  "schema_version": "3",
  "object_data": {
    "id": "0b6e2f3c-8d4a-4f7e-b1a2-9c3d5e7f1a2b",
    "number": "A-1042",
    "status": "shipped",
    "total": 1250.5,
    "quantity": 3,
    "big": 18446744073709551615,
    "negative": -9223372036854775808,
    "tiny": 1e-300,
    "paid": true,
    "note": null,
    "x": "a",
    "y": 3,
    "dash-name": "d",
    "tags": ["a", "b", 3, null, {"k": [1, 2]}],
    "customer": {"name": "Alice \"Al\" O'Neil", "email": "alice@example.com",
                 "address": {"city": "Z\u00fcrich", "lines": ["1 Main St", ""]}},
    "customer_email": "alice@example.com",
    "glob": "user:*?[x]\\y{{ data.id }}",
    "text": "line1\nline2\t\u0000\u0007 \u2028 \ud83d\ude00 </script> ${VAR}",
    "empty": "",
    "empty_object": {},
    "empty_array": []
  },
  "object_data_before": {
    "id": "0b6e2f3c-8d4a-4f7e-b1a2-9c3d5e7f1a2b",
    "number": "A-1042",
    "status": "paid",
    "total": 1000,
    "quantity": 3,
    "paid": false,
    "note": "gift wrap",
    "x": "a",
    "y": "3",
    "legacy": "removed in this update",
    "tags": ["a"],
    "customer": {"name": "Alice", "email": "alice@example.com"}
  },
  "extra_metadata": {"cdc_source": "fallback_trigger"}
})json";

inline constexpr const char* kInsertEvent = R"json({
  "id": "11111111-2222-4333-8444-555555555555",
  "event_type": "INSERT",
  "entity_type": "Product",
  "entity_id": "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
  "timestamp": "2026-11-29T12:00:00.5+02:00",
  "user_id": "42",
  "tenant_id": null,
  "data": {
    "id": "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
    "name": "Widget \\ \"deluxe\"",
    "status": "pending",
    "total": 99.99,
    "price": -0.0,
    "stock": 0,
    "x": 3,
    "active": true,
    "items": [{"sku": "A*", "qty": 1}, {"sku": "B?", "qty": 2}],
    "meta": {"nested": {"deeper": {"deepest": "yes"}}}
  },
  "changes": null
})json";

[[noreturn]] inline void FixtureFailed(const char* what, const std::string& message) {
  std::fprintf(stderr, "fuzz fixture: cannot build the %s event: %s\n", what, message.c_str());
  std::abort();
}

inline EntityEvent MakeUpdateEvent() {
  Result<ChangeLogRow> row = ChangeLogRowFromJson(nlohmann::json::parse(kUpdateRow));
  if (!row) FixtureFailed("UPDATE", row.error().message);
  FakeClock clock;
  Result<EntityEvent> event = FromChangeLogRow(*row, clock);
  if (!event) FixtureFailed("UPDATE", event.error().message);
  if (!event->has_before_image()) FixtureFailed("UPDATE", "no before-image");
  return std::move(event).value();
}

inline EntityEvent MakeInsertEvent() {
  Result<EntityEvent> event = EventFromJson(nlohmann::json::parse(kInsertEvent));
  if (!event) FixtureFailed("INSERT", event.error().message);
  return std::move(event).value();
}

// Built once, on first use; never destroyed before exit, so LeakSanitizer ignores them.
inline const std::array<EntityEvent, 2>& FixedEvents() {
  static const std::array<EntityEvent, 2> events = {MakeUpdateEvent(), MakeInsertEvent()};
  return events;
}

}  // namespace fraiseql::fuzz
