#include "event/entity_event.h"

#include <array>
#include <cctype>

#include "common/text.h"

namespace fraiseql {
namespace {

constexpr std::array<std::string_view, kEventKindCount> kKindNames = {"INSERT", "UPDATE",
                                                                      "DELETE", "CUSTOM"};

// Section 2.2: verbs other than the four kinds that still map to CUSTOM.
std::optional<EventKind> VerbToKind(std::string_view verb) {
  if (auto kind = ParseEventKind(verb)) return kind;
  if (EqualsIgnoreCase(verb, "NOOP") || EqualsIgnoreCase(verb, "READ")) return EventKind::kCustom;
  return std::nullopt;
}

std::string RowName(const ChangeLogRow& row) {
  return "change-log row " + std::to_string(row.pk) + (row.id.empty() ? "" : " (id " + row.id + ")");
}

}  // namespace

std::string_view EventKindName(EventKind kind) { return kKindNames[static_cast<size_t>(kind)]; }

std::optional<EventKind> ParseEventKind(std::string_view name) {
  for (size_t i = 0; i < kKindNames.size(); ++i) {
    if (EqualsIgnoreCase(name, kKindNames[i])) return static_cast<EventKind>(i);
  }
  return std::nullopt;
}

std::optional<std::string> NormalizeUuid(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  std::string out(text);
  for (size_t i = 0; i < out.size(); ++i) {
    const bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_position) {
      if (out[i] != '-') return std::nullopt;
    } else if (!std::isxdigit(static_cast<unsigned char>(out[i]))) {
      return std::nullopt;
    } else {
      out[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[i])));
    }
  }
  return out;
}

nlohmann::json ShallowDiff(const nlohmann::json& before, const nlohmann::json& after) {
  nlohmann::json diff = nlohmann::json::object();
  for (const auto& [key, new_value] : after.items()) {
    auto old_it = before.find(key);
    if (old_it == before.end()) {
      diff[key] = {{"old", nullptr}, {"new", new_value}};
    } else if (*old_it != new_value) {
      diff[key] = {{"old", *old_it}, {"new", new_value}};
    }
  }
  for (const auto& [key, old_value] : before.items()) {
    if (!after.contains(key)) diff[key] = {{"old", old_value}, {"new", nullptr}};
  }
  return diff;
}

Result<EntityEvent> FromChangeLogRow(const ChangeLogRow& row, Clock& clock) {
  const std::optional<EventKind> kind = VerbToKind(row.modification_type);
  if (!kind) {
    return Error::InvalidArgument(RowName(row) + ": unknown modification_type '" +
                                  row.modification_type +
                                  "' (expected INSERT, UPDATE, DELETE, CUSTOM, NOOP or READ)");
  }
  EntityEvent event;
  event.event_type = *kind;

  std::optional<std::string> id = NormalizeUuid(row.id);
  if (!id) return Error::InvalidArgument(RowName(row) + ": id '" + row.id + "' is not a UUID");
  event.id = std::move(*id);

  if (!row.object_id) return Error::InvalidArgument(RowName(row) + ": object_id is NULL");
  std::optional<std::string> entity_id = NormalizeUuid(*row.object_id);
  if (!entity_id) {
    return Error::InvalidArgument(RowName(row) + ": object_id '" + *row.object_id +
                                  "' is not a UUID");
  }
  event.entity_id = std::move(*entity_id);
  // No observer can match an empty entity: the row would vanish without a trace.
  if (row.object_type.empty()) return Error::InvalidArgument(RowName(row) + ": object_type is empty or NULL");
  event.entity_type = row.object_type;

  if (*kind == EventKind::kDelete) {
    event.data = row.object_data_before.is_null() ? nlohmann::json::object() : row.object_data_before;
  } else {
    event.data = row.object_data;
  }
  if (*kind == EventKind::kUpdate && row.object_data_before.is_object() &&
      row.object_data.is_object()) {
    event.changes = ShallowDiff(row.object_data_before, row.object_data);
  }

  if (row.fk_contact) event.user_id = std::to_string(*row.fk_contact);
  event.tenant_id = row.tenant_id;
  if (row.created_at == "infinity" || row.created_at == "-infinity") {
    return Error::InvalidArgument(RowName(row) + ": created_at is '" + *row.created_at + "', not a point in time");
  }
  if (row.created_at) {
    Result<Timestamp> timestamp = ParseTimestamp(*row.created_at);
    if (!timestamp) {
      return Error::InvalidArgument(RowName(row) + ": created_at: " + timestamp.error().message);
    }
    event.timestamp = *timestamp;
  } else {
    event.timestamp = std::chrono::time_point_cast<std::chrono::microseconds>(clock.Now());
  }
  event.duration_ms = row.duration_ms;
  event.seq = row.seq;
  event.actor_type = row.actor_type;
  event.acting_for = row.acting_for;
  event.schema_version = row.schema_version;
  if (row.extra_metadata.is_object()) {
    auto source = row.extra_metadata.find("cdc_source");
    if (source != row.extra_metadata.end() && source->is_string()) {
      event.cdc_source = source->get<std::string>();
    }
  }
  return event;
}

}  // namespace fraiseql
