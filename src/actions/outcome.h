// Delivery outcomes: the one classification every action maps its transport's answer to, so the
// executor decides retry, dead-letter or success the same way for HTTP, Slack, e-mail and the rest.
// Thread-safety: pure functions on value types.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "delivery/delivery.h"

namespace fraiseql {

struct DeliveryOutcome {
  DeliveryOutcomeKind kind = DeliveryOutcomeKind::kPermanent;
  int http_status = 0;  // 0 when the transport is not HTTP
  std::string message;  // for logs and the dead-letter row, e.g. "HTTP 503 Service Unavailable (retryable)"
  // A short, low-cardinality name of the failure for the error_type metric label: "http_5xx",
  // "http_4xx", "http_429", "timeout", "smtp_4xx", "sql_08", "template"... Empty on success.
  std::string error_type;
  // The destination's own wish (Retry-After), already clamped to [0, max_delay]. Set only on
  // retryable outcomes: on a permanent one there is no next attempt for it to delay.
  std::optional<std::chrono::milliseconds> retry_after;
  // 410 Gone: the endpoint says it is gone for good, so an operator should hear about it.
  bool target_gone = false;

  friend bool operator==(const DeliveryOutcome&, const DeliveryOutcome&) = default;
};

// Classifies an HTTP response status:
//   2xx                 success
//   408, 425, 429, 5xx  retryable (timeout, too early, rate limited, server trouble)
//   other 4xx           permanent (410 also sets target_gone)
//   3xx                 permanent: redirects are not followed (following them would bypass the
//                       SSRF guard's check of the configured URL)
//   1xx, < 100, >= 600  permanent: not a final status a server should send
// `retry_after_header` is the raw Retry-After value, if the response had one: delta-seconds
// ("120") or an HTTP-date in IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), RFC 850
// ("Sunday, 06-Nov-94 08:49:37 GMT") or asctime ("Sun Nov  6 08:49:37 1994") form. A date is turned
// into a delay against `now`; a date in the past means 0. The delay is capped at `max_delay`.
// A value that parses as none of these is ignored, as RFC 9110 allows.
DeliveryOutcome ClassifyHttpStatus(int status, std::optional<std::string_view> retry_after_header,
                                   std::chrono::system_clock::time_point now,
                                   std::chrono::milliseconds max_delay);

// Builders for failures that are not a status or reply code (transport errors, bad input).
DeliveryOutcome RetryableOutcome(std::string error_type, std::string message);
DeliveryOutcome PermanentOutcome(std::string error_type, std::string message);

// Classifies an SMTP reply (RFC 5321 section 4.2.1): 2xx and 3xx success (a 3xx is an
// intermediate "go ahead"; the sender only reports the final reply), 4xx retryable (transient
// negative), 5xx permanent; anything else permanent as unexpected. `text` is the reply text,
// echoed (trimmed, truncated) in the message.
DeliveryOutcome ClassifySmtpReply(int code, std::string_view text);

// Parses a Retry-After value into a delay relative to `now` (not capped, never negative);
// nullopt when it is neither delta-seconds nor an HTTP-date. Exposed for tests and for
// transports that carry the same header (e.g. Slack's 429).
std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value,
                                                         std::chrono::system_clock::time_point now);

}  // namespace fraiseql
