#include "dlq/dead_letter_store.h"

#include <algorithm>

#include "common/timestamp.h"
#include "event/entity_event.h"

namespace fraiseql {

nlohmann::json StoredDeadLetterToJson(const StoredDeadLetter& stored) {
  nlohmann::json out = {{"id", stored.id},
                        {"created_at", FormatTimestamp(stored.created_at)},
                        {"retry_count", stored.retry_count},
                        {"last_retried_at", stored.last_retried_at
                                                ? nlohmann::json(FormatTimestamp(*stored.last_retried_at))
                                                : nlohmann::json()},
                        {"failure", DeadLetterFailureName(stored.letter.failure())},
                        {"retryable", stored.letter.transient()},
                        {"redrivable", stored.letter.redrivable()}};
  const nlohmann::json letter = DeadLetterToJson(stored.letter);  // items() must not outlive it
  for (const auto& [key, value] : letter.items()) out[key] = value;
  // Absent optionals as null rather than missing, so JSON consumers see every field.
  for (const char* key : {"delivery_id", "change_log_pk", "event", "row_data", "observer", "action_index",
                          "action_type", "entity_type"}) {
    if (!out.contains(key)) out[key] = nullptr;
  }
  return out;
}

std::string_view RetryOutcomeName(RetryOutcome outcome) {
  switch (outcome) {
    case RetryOutcome::kEnqueued: return "enqueued";
    case RetryOutcome::kAlreadyQueued: return "already_queued";
    case RetryOutcome::kNotRetryable: return "not_retryable";
  }
  return "not_retryable";
}

size_t RetryReport::Count(RetryOutcome outcome) const {
  return static_cast<size_t>(
      std::count_if(items.begin(), items.end(), [&](const RetryItem& item) { return item.outcome == outcome; }));
}

namespace dead_letter_internal {

Result<void> Validate(std::span<const DeadLetter> letters) {
  for (const DeadLetter& letter : letters) {
    if (letter.delivery_id && !NormalizeUuid(*letter.delivery_id)) {
      return Error::InvalidArgument("dead letter delivery id '" + *letter.delivery_id + "' is not a UUID");
    }
  }
  return Ok();
}

}  // namespace dead_letter_internal

}  // namespace fraiseql
