#include "delivery/delivery.h"

#include <array>
#include <cmath>
#include <cstdio>

#include <openssl/evp.h>

#include "common/url.h"

namespace fraiseql {
namespace {

// fraiseql-observer's UUID namespace for delivery ids (a fixed random UUID; never change it:
// every idempotency key ever sent derives from it).
constexpr std::array<unsigned char, 16> kDeliveryNamespace = {
    0x3b, 0x4f, 0x0e, 0x62, 0x8d, 0x1a, 0x4c, 0x55, 0x9a, 0x27, 0x61, 0xd2, 0x0f, 0x7e, 0xb3, 0xc8};

std::string FormatUuid(const unsigned char* bytes) {
  char text[37];
  std::snprintf(text, sizeof text,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", bytes[0],
                bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8],
                bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]);
  return text;
}

}  // namespace

std::string MakeDeliveryId(std::string_view event_id, std::string_view observer, size_t action_index) {
  std::string name;
  name.reserve(event_id.size() + observer.size() + 24);
  name.append(event_id).append("/").append(observer).append("/").append(std::to_string(action_index));

  std::string input(reinterpret_cast<const char*>(kDeliveryNamespace.data()), kDeliveryNamespace.size());
  input += name;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(input.data(), input.size(), digest, &length, EVP_sha1(), nullptr);
  digest[6] = static_cast<unsigned char>((digest[6] & 0x0f) | 0x50);  // version 5
  digest[8] = static_cast<unsigned char>((digest[8] & 0x3f) | 0x80);  // RFC 9562 variant
  return FormatUuid(digest);
}

std::string_view DeliveryOutcomeKindName(DeliveryOutcomeKind kind) {
  switch (kind) {
    case DeliveryOutcomeKind::kSuccess: return "success";
    case DeliveryOutcomeKind::kRetryable: return "retryable";
    case DeliveryOutcomeKind::kPermanent: return "permanent";
  }
  return "permanent";
}

std::string_view FinalOutcomeName(FinalOutcome outcome) {
  switch (outcome) {
    case FinalOutcome::kSuccess: return "success";
    case FinalOutcome::kDeadLettered: return "dead_lettered";
    case FinalOutcome::kRetryable: return "retryable";
    case FinalOutcome::kPermanent: return "permanent";
  }
  return "permanent";
}

nlohmann::json AttemptToJson(const AttemptRecord& attempt) {
  const auto started = std::chrono::time_point_cast<std::chrono::microseconds>(attempt.started_at);
  return {{"started_at", FormatTimestamp(Timestamp(started.time_since_epoch()))},
          {"outcome", DeliveryOutcomeKindName(attempt.outcome)},
          {"status", attempt.status == 0 ? nlohmann::json() : nlohmann::json(attempt.status)},
          {"error", attempt.error.empty() ? nlohmann::json() : nlohmann::json(attempt.error)},
          {"duration_ms", static_cast<double>(attempt.duration.count()) / 1000.0}};
}

Result<AttemptRecord> AttemptFromJson(const nlohmann::json& json) {
  if (!json.is_object()) return Error::InvalidArgument("an attempt is not a JSON object");
  AttemptRecord attempt;
  const auto started = json.find("started_at");
  if (started == json.end() || !started->is_string()) {
    return Error::InvalidArgument("an attempt has no \"started_at\" string");
  }
  Result<Timestamp> started_at = ParseTimestamp(started->get_ref<const std::string&>());
  if (!started_at) return Error::InvalidArgument("an attempt's \"started_at\": " + started_at.error().message);
  attempt.started_at = std::chrono::time_point_cast<std::chrono::system_clock::duration>(*started_at);

  const auto outcome = json.find("outcome");
  if (outcome == json.end() || !outcome->is_string()) {
    return Error::InvalidArgument("an attempt has no \"outcome\" string");
  }
  const std::string& outcome_name = outcome->get_ref<const std::string&>();
  bool known = false;
  for (DeliveryOutcomeKind kind :
       {DeliveryOutcomeKind::kSuccess, DeliveryOutcomeKind::kRetryable, DeliveryOutcomeKind::kPermanent}) {
    if (DeliveryOutcomeKindName(kind) == outcome_name) {
      attempt.outcome = kind;
      known = true;
    }
  }
  if (!known) return Error::InvalidArgument("an attempt has the unknown outcome \"" + outcome_name + "\"");

  if (const auto status = json.find("status"); status != json.end() && !status->is_null()) {
    if (!status->is_number_integer()) return Error::InvalidArgument("an attempt's \"status\" is not an integer");
    attempt.status = status->get<int>();
  }
  if (const auto error = json.find("error"); error != json.end() && !error->is_null()) {
    if (!error->is_string()) return Error::InvalidArgument("an attempt's \"error\" is not a string");
    attempt.error = error->get<std::string>();
  }
  if (const auto duration = json.find("duration_ms"); duration != json.end() && !duration->is_null()) {
    if (!duration->is_number()) return Error::InvalidArgument("an attempt's \"duration_ms\" is not a number");
    // AttemptToJson writes microseconds / 1000 as a double: round back to whole microseconds.
    attempt.duration = std::chrono::microseconds(std::llround(duration->get<double>() * 1000.0));
  }
  return attempt;
}

}  // namespace fraiseql
