// FieldPath: a dotted path into an event ("status", "data.customer.email", "event.entity_id",
// "changes.status.old"), parsed once and resolved without allocating. Shared by conditions
// and templates so both read events the same way.
// Thread-safety: immutable after Parse(); Resolve() may be called concurrently.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "event/entity_event.h"

namespace fraiseql {

// What a path resolved to. Borrowed: points into the event (or a static null), valid while
// the event lives.
class ValueRef {
 public:
  enum class Kind { kMissing, kJson, kText, kInteger, kTimestamp };

  static ValueRef Missing() { return ValueRef(Kind::kMissing); }
  static ValueRef Json(const nlohmann::json& value) {
    ValueRef ref(Kind::kJson);
    ref.json_ = &value;
    return ref;
  }
  static ValueRef Text(std::string_view value) {
    ValueRef ref(Kind::kText);
    ref.text_ = value;
    return ref;
  }
  static ValueRef Integer(int64_t value) {
    ValueRef ref(Kind::kInteger);
    ref.integer_ = value;
    return ref;
  }
  static ValueRef Time(Timestamp value) {
    ValueRef ref(Kind::kTimestamp);
    ref.timestamp_ = value;
    return ref;
  }
  static ValueRef Null();

  Kind kind() const { return kind_; }
  bool missing() const { return kind_ == Kind::kMissing; }
  bool is_null() const { return kind_ == Kind::kMissing || (kind_ == Kind::kJson && json_->is_null()); }
  const nlohmann::json& json() const { return *json_; }  // REQUIRES: kind() == kJson
  std::string_view text() const { return text_; }         // REQUIRES: kind() == kText
  int64_t integer() const { return integer_; }            // REQUIRES: kind() == kInteger
  Timestamp timestamp() const { return timestamp_; }      // REQUIRES: kind() == kTimestamp

  // An owned JSON copy (null for missing).
  nlohmann::json ToJson() const;

 private:
  explicit ValueRef(Kind kind) : kind_(kind) {}
  Kind kind_;
  const nlohmann::json* json_ = nullptr;
  std::string_view text_;
  int64_t integer_ = 0;
  Timestamp timestamp_{};
};

class FieldPath {
 public:
  enum class Root { kData, kChanges, kEvent };

  // Grammar: segment ("." segment)*, segment = [A-Za-z_][A-Za-z0-9_-]* or digits (an array
  // index). A path that does not start with "data.", "event." or "changes." reads event.data.
  // "event.<field>" accepts the EntityEvent fields; "event.data.<path>" equals "data.<path>".
  static Result<FieldPath> Parse(std::string_view text);

  ValueRef Resolve(const EntityEvent& event) const;

  const std::string& text() const { return text_; }
  Root root() const { return root_; }
  // Segments below the root: for kData the keys inside event.data.
  const std::vector<std::string>& segments() const { return segments_; }

 private:
  enum class EventField : uint8_t {
    kId, kEventType, kEntityType, kEntityId, kTenantId, kUserId, kTimestamp, kDurationMs,
    kSeq, kActorType, kActingFor, kSchemaVersion, kCdcSource,
  };

  std::string text_;
  Root root_ = Root::kData;
  EventField event_field_ = EventField::kId;  // for Root::kEvent
  std::vector<std::string> segments_;
};

// Walks `segments` down from `start`: object keys, and digit segments as array indexes.
ValueRef WalkJson(const nlohmann::json& start, const std::vector<std::string>& segments,
                  size_t first_segment = 0);

}  // namespace fraiseql
