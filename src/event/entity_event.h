// EntityEvent: one change of one entity, as read from the change log (reference section 2.1),
// and its conversion from a `core.tb_entity_change_log` row (section 2.2).
// Thread-safety: value types and pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/result.h"
#include "common/timestamp.h"

namespace fraiseql {

enum class EventKind : uint8_t { kInsert = 0, kUpdate = 1, kDelete = 2, kCustom = 3 };
inline constexpr int kEventKindCount = 4;

// "INSERT", "UPDATE", "DELETE", "CUSTOM".
std::string_view EventKindName(EventKind kind);
// Accepts the four names case-insensitively.
std::optional<EventKind> ParseEventKind(std::string_view name);

struct EntityEvent {
  std::string id;  // UUID, lower-case canonical form
  EventKind event_type = EventKind::kInsert;
  std::string entity_type;
  std::string entity_id;  // UUID
  // After-image for INSERT/UPDATE/CUSTOM, before-image (or {}) for DELETE.
  nlohmann::json data;
  // Object of field -> {"old": v, "new": v}; JSON null when no before-image was recorded.
  nlohmann::json changes;
  std::optional<std::string> user_id;
  std::optional<std::string> tenant_id;
  Timestamp timestamp{};
  std::optional<int32_t> duration_ms;
  std::optional<int64_t> seq;
  std::optional<std::string> actor_type;
  std::optional<std::string> acting_for;
  std::optional<std::string> schema_version;
  std::optional<std::string> cdc_source;

  bool has_before_image() const { return changes.is_object(); }

  friend bool operator==(const EntityEvent&, const EntityEvent&) = default;
};

// The columns of `core.tb_entity_change_log` that an event is made from. NULL columns are
// std::nullopt (JSONB columns: JSON null).
struct ChangeLogRow {
  int64_t pk = 0;  // pk_entity_change_log: names the row in errors
  std::string id;
  std::string object_type;
  std::string modification_type;
  std::optional<std::string> created_at;
  std::optional<std::string> tenant_id;
  std::optional<int64_t> fk_customer_org;
  std::optional<int64_t> fk_contact;
  std::optional<std::string> object_id;
  nlohmann::json object_data;
  nlohmann::json object_data_before;
  std::optional<int32_t> duration_ms;
  std::optional<int64_t> seq;
  std::optional<std::string> actor_type;
  std::optional<std::string> acting_for;
  std::optional<std::string> schema_version;
  nlohmann::json extra_metadata;
};

// Converts a row following section 2.2. Errors (kInvalidArgument) name the row's pk and id:
// unknown verb, NULL or non-UUID object_id, non-UUID id, empty object_type, unparsable or
// infinite created_at. A NULL created_at (only a legacy table allows it) takes `clock.Now()`.
Result<EntityEvent> FromChangeLogRow(const ChangeLogRow& row, Clock& clock);

// The shallow diff of section 2.2: fields whose values differ, {old, new}; null on a side
// where the field is absent. REQUIRES: both are JSON objects.
nlohmann::json ShallowDiff(const nlohmann::json& before, const nlohmann::json& after);

// JSON forms. EventToJson writes every field (absent optionals as null); EventFromJson accepts
// what EventToJson writes, with optional fields allowed to be absent.
nlohmann::json EventToJson(const EntityEvent& event);
Result<EntityEvent> EventFromJson(const nlohmann::json& json);
// The same, moving the data and changes out of `json` instead of copying them.
Result<EntityEvent> EventFromJson(nlohmann::json&& json);

// The envelope sent by webhooks without a body template and passed to database functions:
// {"id","event_type","entity_type","entity_id","timestamp","tenant_id","user_id","data","changes"}.
nlohmann::json EventEnvelope(const EntityEvent& event);

// The text of EventToJson(event) (kFull) or EventEnvelope(event) (kEnvelope), the bytes dump()
// writes with error_handler_t::replace, appended to `out` without copying the event's data into
// a tree: job rows and webhook bodies are written once per delivery.
enum class EventJsonForm { kEnvelope, kFull };
void AppendEventJson(std::string& out, const EntityEvent& event, EventJsonForm form);

// A row as JSON objects carry it (column names as keys), e.g. a debug-event input file.
Result<ChangeLogRow> ChangeLogRowFromJson(const nlohmann::json& json);
// True when the object has change-log columns rather than EntityEvent fields.
bool LooksLikeChangeLogRow(const nlohmann::json& json);

// Canonical lower-case form of an 8-4-4-4-12 hexadecimal UUID, or nullopt.
std::optional<std::string> NormalizeUuid(std::string_view text);

}  // namespace fraiseql
