#include "delivery/dead_letter.h"

#include <utility>

#include "common/url.h"

namespace fraiseql {

std::string_view DeadLetterFailureName(DeadLetterFailure failure) {
  switch (failure) {
    case DeadLetterFailure::kExhausted: return "exhausted";
    case DeadLetterFailure::kPermanent: return "permanent";
    case DeadLetterFailure::kNotAttempted: return "not_attempted";
    case DeadLetterFailure::kPipeline: return "pipeline";
  }
  return "pipeline";
}

DeadLetterFailure DeadLetter::failure() const {
  if (!delivery_id) return DeadLetterFailure::kPipeline;
  if (attempts.empty()) return DeadLetterFailure::kNotAttempted;
  // The last attempt decided: the engine dead-letters on the first permanent outcome, and on a
  // retryable one only when the attempts have run out.
  return attempts.back().outcome == DeliveryOutcomeKind::kRetryable ? DeadLetterFailure::kExhausted
                                                                    : DeadLetterFailure::kPermanent;
}

DeadLetter DeadLetterOf(const Delivery& delivery, std::string_view action_type, std::string reason) {
  DeadLetter letter;
  letter.delivery_id = delivery.id;
  if (delivery.event) {
    letter.event = EventToJson(*delivery.event);
    letter.entity_type = delivery.event->entity_type;
  }
  letter.observer = delivery.observer;
  letter.action_index = delivery.action_index;
  if (!action_type.empty()) letter.action_type = std::string(action_type);
  letter.attempts = delivery.attempts;
  letter.reason = std::move(reason);
  return letter;
}

nlohmann::json DeadLetterToJson(const DeadLetter& letter) {
  nlohmann::json attempts = nlohmann::json::array();
  // Errors are redacted where they are made (the delivery engine); a dead letter is redacted
  // once more as it is stored, since it may come from anywhere and is kept for good.
  for (const AttemptRecord& attempt : letter.attempts) {
    nlohmann::json json = AttemptToJson(attempt);
    if (json["error"].is_string()) json["error"] = RedactUrlsIn(json["error"].get<std::string>());
    attempts.push_back(std::move(json));
  }
  nlohmann::json row = {{"listener_id", letter.listener_id}, {"attempts", std::move(attempts)},
                        {"reason", RedactUrlsIn(letter.reason)}};
  if (letter.delivery_id) row["delivery_id"] = *letter.delivery_id;
  if (letter.change_log_pk) row["change_log_pk"] = *letter.change_log_pk;
  if (letter.event && !letter.event->is_null()) row["event"] = *letter.event;
  if (letter.row_data && !letter.row_data->is_null()) row["row_data"] = *letter.row_data;
  if (letter.observer) row["observer"] = *letter.observer;
  if (letter.action_index) row["action_index"] = *letter.action_index;
  if (letter.action_type) row["action_type"] = *letter.action_type;
  if (letter.entity_type) row["entity_type"] = *letter.entity_type;
  return row;
}

}  // namespace fraiseql
