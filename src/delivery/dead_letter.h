// DeadLetter: what failed for good and why, in the one form every stage writes and every
// dead-letter store keeps: a delivery whose attempts ran out or were refused, or a pipeline
// failure that never became a delivery (an unreadable change-log row, a condition that errored).
// Thread-safety: value types and pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "delivery/delivery.h"

namespace fraiseql {

// One dead letter (one row of observer_dead_letters). Pipeline failures have no delivery:
// delivery_id and action_* are empty, and row_data is set when there is no event.
struct DeadLetter {
  std::optional<std::string> delivery_id;
  std::string listener_id;  // empty: the store fills it in from the job (PostgreSQL) or leaves it
  std::optional<int64_t> change_log_pk;
  std::optional<nlohmann::json> event;
  std::optional<nlohmann::json> row_data;
  std::optional<std::string> observer;
  std::optional<size_t> action_index;
  std::optional<std::string> action_type;
  std::optional<std::string> entity_type;
  std::vector<AttemptRecord> attempts;
  std::string reason;

  // It names a delivery whose event is kept, so it can be re-driven (run again).
  bool retryable() const { return delivery_id && event && observer && action_index; }

  friend bool operator==(const DeadLetter&, const DeadLetter&) = default;
};

// The dead letter of a delivery that failed for good: its id, event, observer, action and
// every attempt, with `reason` (the last attempt's error, or why none could be made).
// `action_type` is the action kind's name ("webhook"), empty when unknown.
DeadLetter DeadLetterOf(const Delivery& delivery, std::string_view action_type, std::string reason);

// The JSON object of one dead letter: absent optionals left out, attempts as AttemptToJson
// writes them. The row form dead-letter stores write and `dlq show --format json` extends.
nlohmann::json DeadLetterToJson(const DeadLetter& letter);

}  // namespace fraiseql
