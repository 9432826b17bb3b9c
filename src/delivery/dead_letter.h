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

// How the failure behind a dead letter ended, read from its attempts: what an operator needs to
// decide whether `dlq retry` is worth running as things stand.
enum class DeadLetterFailure {
  kExhausted,  // the last attempt failed with a transient error and max_attempts ran out: a
               // retry may well succeed (the destination was down, slow or rate limiting)
  kPermanent,  // the last attempt's failure was permanent (a 4xx, an invalid request, a signing
               // error, a refused target): a retry fails the same way until its cause is fixed
  kNotAttempted,  // a delivery that was never attempted (its observer or action is gone from
                  // the configuration)
  kPipeline,   // no delivery at all: an unreadable change-log row, a condition that errored, a
               // job row that did not decode
};

// "exhausted", "permanent", "not_attempted", "pipeline".
std::string_view DeadLetterFailureName(DeadLetterFailure failure);

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

  // It names a delivery whose event is kept, so `dlq retry` can re-drive it (run it again),
  // whatever its failure was.
  bool redrivable() const { return delivery_id && event && observer && action_index; }
  // Its failure as the last attempt classified it (a pipeline failure when there is no delivery).
  DeadLetterFailure failure() const;
  // The failure was transient (kExhausted): what the RETRYABLE column of `dlq list` says.
  bool transient() const { return failure() == DeadLetterFailure::kExhausted; }

  friend bool operator==(const DeadLetter&, const DeadLetter&) = default;
};

// The dead letter of a delivery that failed for good: its id, event, observer, action and
// every attempt, with `reason` (the last attempt's error, or why none could be made).
// `action_type` is the action kind's name ("webhook"), empty when unknown.
DeadLetter DeadLetterOf(const Delivery& delivery, std::string_view action_type, std::string reason);

// The JSON object of one dead letter: absent optionals left out, attempts as AttemptToJson
// writes them, a URL in "reason" redacted (common/url.h RedactUrlsIn). The row form dead-letter
// stores write and `dlq show --format json` extends.
nlohmann::json DeadLetterToJson(const DeadLetter& letter);

}  // namespace fraiseql
