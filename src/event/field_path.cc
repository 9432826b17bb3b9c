#include "event/field_path.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <utility>

namespace fraiseql {
namespace {

bool IsIdentifierStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsIdentifierChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}
bool IsAllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(),
                                   [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

const nlohmann::json& NullJson() {
  static const nlohmann::json kNull;  // immutable
  return kNull;
}

template <typename T>
ValueRef OptionalText(const std::optional<T>& value) {
  return value ? ValueRef::Text(*value) : ValueRef::Null();
}

}  // namespace

ValueRef ValueRef::Null() { return Json(NullJson()); }

nlohmann::json ValueRef::ToJson() const {
  switch (kind_) {
    case Kind::kMissing: return nullptr;
    case Kind::kJson: return *json_;
    case Kind::kText: return std::string(text_);
    case Kind::kInteger: return integer_;
    case Kind::kTimestamp: return FormatTimestamp(timestamp_);
  }
  return nullptr;
}

ValueRef WalkJson(const nlohmann::json& start, const std::vector<std::string>& segments,
                  size_t first_segment) {
  const nlohmann::json* current = &start;
  for (size_t i = first_segment; i < segments.size(); ++i) {
    const std::string& segment = segments[i];
    if (current->is_object()) {
      auto it = current->find(segment);
      if (it == current->end()) return ValueRef::Missing();
      current = &*it;
    } else if (current->is_array() && IsAllDigits(segment)) {
      size_t index = 0;
      auto [end, error] = std::from_chars(segment.data(), segment.data() + segment.size(), index);
      if (error != std::errc() || index >= current->size()) return ValueRef::Missing();
      current = &(*current)[index];
    } else {
      return ValueRef::Missing();
    }
  }
  return ValueRef::Json(*current);
}

Result<FieldPath> FieldPath::Parse(std::string_view text) {
  FieldPath path;
  path.text_ = std::string(text);
  if (text.empty()) return Error::InvalidArgument("empty field path");

  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t dot = text.find('.', start);
    std::string_view part = text.substr(start, dot == std::string_view::npos ? text.npos : dot - start);
    const bool valid = IsAllDigits(part) ||
                       (!part.empty() && IsIdentifierStart(part[0]) &&
                        std::all_of(part.begin(), part.end(), IsIdentifierChar));
    if (!valid) {
      return Error::InvalidArgument("invalid field path '" + std::string(text) +
                                    "': segment '" + std::string(part) +
                                    "' must be a name ([A-Za-z_][A-Za-z0-9_-]*) or an array index");
    }
    parts.emplace_back(part);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }

  if (parts[0] == "data" && parts.size() > 1) {
    path.root_ = Root::kData;
    path.segments_.assign(parts.begin() + 1, parts.end());
  } else if (parts[0] == "changes" && parts.size() > 1) {
    path.root_ = Root::kChanges;
    path.segments_.assign(parts.begin() + 1, parts.end());
  } else if (parts[0] == "event" && parts.size() > 1) {
    static constexpr std::array<std::pair<std::string_view, EventField>, 13> kFields = {{
        {"id", EventField::kId},
        {"event_type", EventField::kEventType},
        {"entity_type", EventField::kEntityType},
        {"entity_id", EventField::kEntityId},
        {"tenant_id", EventField::kTenantId},
        {"user_id", EventField::kUserId},
        {"timestamp", EventField::kTimestamp},
        {"duration_ms", EventField::kDurationMs},
        {"seq", EventField::kSeq},
        {"actor_type", EventField::kActorType},
        {"acting_for", EventField::kActingFor},
        {"schema_version", EventField::kSchemaVersion},
        {"cdc_source", EventField::kCdcSource},
    }};
    if (parts[1] == "data" || parts[1] == "changes") {
      path.root_ = parts[1] == "data" ? Root::kData : Root::kChanges;
      path.segments_.assign(parts.begin() + 2, parts.end());
      return path;
    }
    for (const auto& [name, field] : kFields) {
      if (parts[1] == name) {
        if (parts.size() > 2) {
          return Error::InvalidArgument("invalid field path '" + std::string(text) + "': event." +
                                        parts[1] + " has no fields");
        }
        path.root_ = Root::kEvent;
        path.event_field_ = field;
        return path;
      }
    }
    return Error::InvalidArgument(
        "unknown event field '" + parts[1] + "' in '" + std::string(text) +
        "' (event fields: id, event_type, entity_type, entity_id, tenant_id, user_id, timestamp, "
        "data, changes, duration_ms, seq, actor_type, acting_for, schema_version, cdc_source)");
  } else {
    path.root_ = Root::kData;
    path.segments_ = std::move(parts);
  }
  return path;
}

ValueRef FieldPath::Resolve(const EntityEvent& event) const {
  switch (root_) {
    case Root::kData: return WalkJson(event.data, segments_);
    case Root::kChanges:
      if (event.changes.is_null() && segments_.empty()) return ValueRef::Null();
      return WalkJson(event.changes, segments_);
    case Root::kEvent: break;
  }
  switch (event_field_) {
    case EventField::kId: return ValueRef::Text(event.id);
    case EventField::kEventType: return ValueRef::Text(EventKindName(event.event_type));
    case EventField::kEntityType: return ValueRef::Text(event.entity_type);
    case EventField::kEntityId: return ValueRef::Text(event.entity_id);
    case EventField::kTenantId: return OptionalText(event.tenant_id);
    case EventField::kUserId: return OptionalText(event.user_id);
    case EventField::kTimestamp: return ValueRef::Time(event.timestamp);
    case EventField::kDurationMs:
      return event.duration_ms ? ValueRef::Integer(*event.duration_ms) : ValueRef::Null();
    case EventField::kSeq: return event.seq ? ValueRef::Integer(*event.seq) : ValueRef::Null();
    case EventField::kActorType: return OptionalText(event.actor_type);
    case EventField::kActingFor: return OptionalText(event.acting_for);
    case EventField::kSchemaVersion: return OptionalText(event.schema_version);
    case EventField::kCdcSource: return OptionalText(event.cdc_source);
  }
  return ValueRef::Missing();
}

}  // namespace fraiseql
