// JSON forms of EntityEvent and ChangeLogRow.
#include <limits>
#include <type_traits>
#include <utility>

#include "common/json_text.h"
#include "event/entity_event.h"

namespace fraiseql {
namespace {

using nlohmann::json;

template <typename T>
json OptionalToJson(const std::optional<T>& value) {
  return value ? json(*value) : json(nullptr);
}

// Reads JSON fields with errors naming the field and what was expected.
class FieldReader {
 public:
  FieldReader(const json& object, std::string what) : object_(object), what_(std::move(what)) {}

  const json* Find(std::string_view key) const {
    auto it = object_.find(key);
    return it == object_.end() || it->is_null() ? nullptr : &*it;
  }

  Result<std::string> RequiredString(std::string_view key) const {
    const json* value = Find(key);
    if (!value) return Fail(key, "is missing");
    if (!value->is_string()) return Fail(key, "must be a string");
    return value->get<std::string>();
  }

  Result<std::optional<std::string>> OptionalString(std::string_view key) const {
    const json* value = Find(key);
    if (!value) return std::optional<std::string>{};
    if (value->is_string()) return std::optional<std::string>{value->get<std::string>()};
    if (value->is_number_integer()) return std::optional<std::string>{value->dump()};
    return Fail(key, "must be a string");
  }

  template <typename Int>
  Result<std::optional<Int>> OptionalInt(std::string_view key) const {
    const json* value = Find(key);
    if (!value) return std::optional<Int>{};
    if (value->is_number_integer()) {
      if (value->is_number_unsigned()) {
        const auto number = value->get<uint64_t>();
        if (number <= static_cast<uint64_t>(std::numeric_limits<Int>::max())) {
          return std::optional<Int>{static_cast<Int>(number)};
        }
      } else {
        const auto number = value->get<int64_t>();
        if (number >= std::numeric_limits<Int>::min() && number <= std::numeric_limits<Int>::max()) {
          return std::optional<Int>{static_cast<Int>(number)};
        }
      }
      return Fail(key, "is out of range");
    }
    if (value->is_string()) {  // PostgreSQL's JSON export writes bigints as strings at times
      try {
        size_t used = 0;
        const long long number = std::stoll(value->get<std::string>(), &used);
        if (used == value->get<std::string>().size() && number >= std::numeric_limits<Int>::min() &&
            number <= std::numeric_limits<Int>::max()) {
          return std::optional<Int>{static_cast<Int>(number)};
        }
      } catch (const std::exception&) {
      }
    }
    return Fail(key, "must be an integer");
  }

  json Json(std::string_view key) const {
    auto it = object_.find(key);
    return it == object_.end() ? json(nullptr) : *it;
  }

  Error Fail(std::string_view key, std::string_view problem) const {
    return Error::InvalidArgument(what_ + ": field '" + std::string(key) + "' " +
                                  std::string(problem));
  }

 private:
  const json& object_;
  std::string what_;
};

}  // namespace

// The full form is the envelope plus the metadata fields.
json EventToJson(const EntityEvent& event) {
  json out = EventEnvelope(event);
  out["duration_ms"] = OptionalToJson(event.duration_ms);
  out["seq"] = OptionalToJson(event.seq);
  out["actor_type"] = OptionalToJson(event.actor_type);
  out["acting_for"] = OptionalToJson(event.acting_for);
  out["schema_version"] = OptionalToJson(event.schema_version);
  out["cdc_source"] = OptionalToJson(event.cdc_source);
  return out;
}

json EventEnvelope(const EntityEvent& event) {
  return json{
      {"id", event.id},
      {"event_type", EventKindName(event.event_type)},
      {"entity_type", event.entity_type},
      {"entity_id", event.entity_id},
      {"timestamp", FormatTimestamp(event.timestamp)},
      {"tenant_id", OptionalToJson(event.tenant_id)},
      {"user_id", OptionalToJson(event.user_id)},
      {"data", event.data},
      {"changes", event.changes},
  };
}

namespace {

void OptionalString(JsonObjectText& object, std::string_view key, const std::optional<std::string>& value) {
  value ? object.String(key, *value) : object.Null(key);
}

template <typename Int>
void OptionalInt(JsonObjectText& object, std::string_view key, const std::optional<Int>& value) {
  value ? object.Int(key, *value) : object.Null(key);
}

}  // namespace

void AppendEventJson(std::string& out, const EntityEvent& event, EventJsonForm form) {
  // The keys in the order nlohmann's std::map dumps them (ascending), so the text is the same as
  // EventToJson(event).dump() or EventEnvelope(event).dump() (a test holds them to it).
  const bool full = form == EventJsonForm::kFull;
  JsonObjectText object(out);
  if (full) {
    OptionalString(object, "acting_for", event.acting_for);
    OptionalString(object, "actor_type", event.actor_type);
    OptionalString(object, "cdc_source", event.cdc_source);
  }
  object.Json("changes", event.changes);
  object.Json("data", event.data);
  if (full) OptionalInt(object, "duration_ms", event.duration_ms);
  object.String("entity_id", event.entity_id);
  object.String("entity_type", event.entity_type);
  object.String("event_type", EventKindName(event.event_type));
  object.String("id", event.id);
  if (full) {
    OptionalString(object, "schema_version", event.schema_version);
    OptionalInt(object, "seq", event.seq);
  }
  OptionalString(object, "tenant_id", event.tenant_id);
  object.String("timestamp", FormatTimestamp(event.timestamp));
  OptionalString(object, "user_id", event.user_id);
  object.Close();
}

namespace {

// The member `key` of `object` (null when absent): moved out when the caller gave the object up,
// so a parsed job row's data is not copied a second time.
template <typename Object>
json TakeMember(Object& object, std::string_view key) {
  auto it = object.find(key);
  if (it == object.end()) return json(nullptr);
  if constexpr (std::is_const_v<Object>) {
    return *it;
  } else {
    return std::move(*it);
  }
}

template <typename Object>
Result<EntityEvent> ReadEvent(Object& object) {
  if (!object.is_object()) return Error::InvalidArgument("event: expected a JSON object");
  const FieldReader in(object, "event");
  EntityEvent event;

  std::string id;
  FRAISEQL_ASSIGN_OR_RETURN(id, in.RequiredString("id"));
  auto normalized_id = NormalizeUuid(id);
  if (!normalized_id) return in.Fail("id", "is not a UUID: '" + id + "'");
  event.id = *normalized_id;

  std::string kind_name;
  FRAISEQL_ASSIGN_OR_RETURN(kind_name, in.RequiredString("event_type"));
  auto kind = ParseEventKind(kind_name);
  if (!kind) {
    return in.Fail("event_type", "must be INSERT, UPDATE, DELETE or CUSTOM, not '" + kind_name + "'");
  }
  event.event_type = *kind;

  FRAISEQL_ASSIGN_OR_RETURN(event.entity_type, in.RequiredString("entity_type"));
  std::string entity_id;
  FRAISEQL_ASSIGN_OR_RETURN(entity_id, in.RequiredString("entity_id"));
  auto normalized_entity_id = NormalizeUuid(entity_id);
  if (!normalized_entity_id) return in.Fail("entity_id", "is not a UUID: '" + entity_id + "'");
  event.entity_id = *normalized_entity_id;

  event.data = TakeMember(object, "data");
  event.changes = TakeMember(object, "changes");
  if (!event.changes.is_null() && !event.changes.is_object()) {
    return in.Fail("changes", "must be an object of field -> {old, new}, or null");
  }

  std::string timestamp;
  FRAISEQL_ASSIGN_OR_RETURN(timestamp, in.RequiredString("timestamp"));
  auto parsed = ParseTimestamp(timestamp);
  if (!parsed) return in.Fail("timestamp", "is invalid: " + parsed.error().message);
  event.timestamp = *parsed;

  FRAISEQL_ASSIGN_OR_RETURN(event.user_id, in.OptionalString("user_id"));
  FRAISEQL_ASSIGN_OR_RETURN(event.tenant_id, in.OptionalString("tenant_id"));
  FRAISEQL_ASSIGN_OR_RETURN(event.duration_ms, in.OptionalInt<int32_t>("duration_ms"));
  FRAISEQL_ASSIGN_OR_RETURN(event.seq, in.OptionalInt<int64_t>("seq"));
  FRAISEQL_ASSIGN_OR_RETURN(event.actor_type, in.OptionalString("actor_type"));
  FRAISEQL_ASSIGN_OR_RETURN(event.acting_for, in.OptionalString("acting_for"));
  FRAISEQL_ASSIGN_OR_RETURN(event.schema_version, in.OptionalString("schema_version"));
  FRAISEQL_ASSIGN_OR_RETURN(event.cdc_source, in.OptionalString("cdc_source"));
  return event;
}

}  // namespace

Result<EntityEvent> EventFromJson(const json& object) { return ReadEvent(object); }

Result<EntityEvent> EventFromJson(json&& object) { return ReadEvent(object); }

bool LooksLikeChangeLogRow(const json& object) {
  return object.is_object() && (object.contains("modification_type") || object.contains("object_type"));
}

Result<ChangeLogRow> ChangeLogRowFromJson(const json& object) {
  if (!object.is_object()) return Error::InvalidArgument("change-log row: expected a JSON object");
  const FieldReader in(object, "change-log row");
  ChangeLogRow row;
  std::optional<int64_t> pk;
  FRAISEQL_ASSIGN_OR_RETURN(pk, in.OptionalInt<int64_t>("pk_entity_change_log"));
  row.pk = pk.value_or(0);
  FRAISEQL_ASSIGN_OR_RETURN(row.id, in.RequiredString("id"));
  FRAISEQL_ASSIGN_OR_RETURN(row.object_type, in.RequiredString("object_type"));
  FRAISEQL_ASSIGN_OR_RETURN(row.modification_type, in.RequiredString("modification_type"));
  FRAISEQL_ASSIGN_OR_RETURN(row.created_at, in.OptionalString("created_at"));
  FRAISEQL_ASSIGN_OR_RETURN(row.tenant_id, in.OptionalString("tenant_id"));
  FRAISEQL_ASSIGN_OR_RETURN(row.fk_customer_org, in.OptionalInt<int64_t>("fk_customer_org"));
  FRAISEQL_ASSIGN_OR_RETURN(row.fk_contact, in.OptionalInt<int64_t>("fk_contact"));
  FRAISEQL_ASSIGN_OR_RETURN(row.object_id, in.OptionalString("object_id"));
  row.object_data = in.Json("object_data");
  row.object_data_before = in.Json("object_data_before");
  FRAISEQL_ASSIGN_OR_RETURN(row.duration_ms, in.OptionalInt<int32_t>("duration_ms"));
  FRAISEQL_ASSIGN_OR_RETURN(row.seq, in.OptionalInt<int64_t>("seq"));
  FRAISEQL_ASSIGN_OR_RETURN(row.actor_type, in.OptionalString("actor_type"));
  FRAISEQL_ASSIGN_OR_RETURN(row.acting_for, in.OptionalString("acting_for"));
  FRAISEQL_ASSIGN_OR_RETURN(row.schema_version, in.OptionalString("schema_version"));
  row.extra_metadata = in.Json("extra_metadata");
  return row;
}

}  // namespace fraiseql
