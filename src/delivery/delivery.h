// Delivery: one (event, observer, action) job with the history of its attempts, and the
// deterministic id that is also its idempotency key: the model every stage shares (listener,
// queue, engine, dead letters). Depends on event/ only. Thread-safety: value types, pure functions.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "event/entity_event.h"

namespace fraiseql {

// How one attempt ended, as every action classifies its transport's answer (actions/outcome.h).
enum class DeliveryOutcomeKind {
  kSuccess,
  kRetryable,  // transient: try again later (and count against the destination's circuit breaker)
  kPermanent,  // the destination's final answer: dead-letter, do not retry
};

std::string_view DeliveryOutcomeKindName(DeliveryOutcomeKind kind);  // "success", "retryable", "permanent"

// One finished attempt, as kept in a dead letter.
struct AttemptRecord {
  std::chrono::system_clock::time_point started_at;
  DeliveryOutcomeKind outcome = DeliveryOutcomeKind::kPermanent;
  int status = 0;       // HTTP status or SMTP reply code; 0 when there was none
  std::string error;    // empty on success
  std::chrono::microseconds duration{0};

  friend bool operator==(const AttemptRecord&, const AttemptRecord&) = default;
};

struct Delivery {
  std::string id;  // MakeDeliveryId(event id, observer, action index)
  std::shared_ptr<const EntityEvent> event;
  std::string observer;  // the observer's name
  size_t action_index = 0;
  std::vector<AttemptRecord> attempts;  // made so far; parking on an open breaker adds none

  uint32_t attempt_count() const { return static_cast<uint32_t>(attempts.size()); }
};

// The delivery id: a name-based UUID (RFC 9562 version 5, SHA-1) of
// "<event id>/<observer>/<action index>" in fraiseql-observer's own namespace
// (3b4f0e62-8d1a-4c55-9a27-61d20f7eb3c8), so the same
// delivery always gets the same id, on any machine, in any process.
std::string MakeDeliveryId(std::string_view event_id, std::string_view observer, size_t action_index);

// How a delivery ended.
enum class FinalOutcome {
  kSuccess,
  kDeadLettered,  // stored as a dead letter (on_failure = "dlq")
  kRetryable,     // attempts exhausted, logged (on_failure = "log" or "alert")
  kPermanent,     // permanent failure, logged (on_failure = "log" or "alert")
};

// "success", "dead_lettered", "retryable", "permanent".
std::string_view FinalOutcomeName(FinalOutcome outcome);

// {"status", "error", "duration_ms", "started_at", "outcome"}: the attempt as the CLI and the
// dead-letter store show it. A URL in "error" is redacted (common/url.h RedactUrlsIn).
nlohmann::json AttemptToJson(const AttemptRecord& attempt);

// The inverse of AttemptToJson, for attempts read back from the job queue and the dead-letter
// store. "status", "error" and "duration_ms" may be absent or null (0, "", 0). Errors
// (kInvalidArgument) name the field: not an object, missing or unparsable started_at, unknown
// outcome, a field of the wrong type.
Result<AttemptRecord> AttemptFromJson(const nlohmann::json& json);

}  // namespace fraiseql
