// Webhook signing: the headers that let a receiver authenticate a delivery, in both the
// Standard Webhooks form and the FraiseQL/Stripe form (reference section 12). Pure: no I/O.
// Thread-safety: pure functions over their arguments; safe to call from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/base64.h"  // Base64Encode, Base64Decode, StandardWebhooksKey, kStandardSecretPrefix
#include "common/result.h"
#include "common/secret.h"
#include "http/header.h"

namespace fraiseql {

inline constexpr std::string_view kWebhookIdHeader = "webhook-id";
inline constexpr std::string_view kWebhookTimestampHeader = "webhook-timestamp";
inline constexpr std::string_view kWebhookSignatureHeader = "webhook-signature";
inline constexpr std::string_view kFraiseqlSignatureHeader = "X-FraiseQL-Signature-256";

// ---- Low-level helpers (exposed for tests and the `receive` command) ----

// HMAC-SHA256 of `data` under `key`: the raw 32-byte MAC. An empty key is allowed.
// Returns an empty string only if OpenSSL itself fails (it does not for valid input).
std::string HmacSha256(std::string_view key, std::string_view data);

// Equal lengths and equal bytes, without an early exit on the first difference, so a forger
// cannot learn a secret byte by byte from response times. The length is not secret.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// Lowercase hex of `bytes`, two characters per byte.
std::string HexLower(std::string_view bytes);

// ---- Signing ----

// Which signature headers a webhook carries (config's WebhookAction::SignatureScheme, mapped by
// the webhook action; http/ does not read the config).
enum class SigningScheme { kStandard, kFraiseql, kBoth };

// The headers that go with one delivery attempt, in this order:
//   webhook-id: <delivery_id>              (always; the same on every retry)
//   webhook-timestamp: <unix_seconds>      (always; this attempt's time)
//   webhook-signature: v1,<b64> [v1,<b64>...]
//       when `secrets` is not empty and scheme is kStandard or kBoth: one entry per secret, in
//       order, each base64(HMAC-SHA256(StandardWebhooksKey(secret), "{id}.{ts}.{body}")).
//   X-FraiseQL-Signature-256: t=<ts>,v1=<hex>[,v1=<hex>...]
//       when `secrets` is not empty and scheme is kFraiseql or kBoth: one v1 per secret, each
//       lowercase hex(HMAC-SHA256(secret verbatim, "{ts}.{body}")).
// `body` must be exactly the bytes that are sent.
// Errors (kInvalidArgument; messages name the secret by position, never by value):
//   - delivery_id empty, or containing '.', whitespace or a control character (it is part of
//     the dot-separated signed content and of a header value);
//   - a secret that is empty;
//   - a "whsec_" secret that is not valid base64, when the Standard scheme is in use.
Result<std::vector<HttpHeaderLine>> SignWebhook(std::string_view delivery_id, int64_t unix_seconds,
                                                std::string_view body, std::span<const Secret> secrets,
                                                SigningScheme scheme);

// ---- Verification (receiver side) ----

// True when some `v1,<b64>` entry of a webhook-signature header value matches the signature of
// "{id}.{timestamp}.{body}" under `secret` (keyed as StandardWebhooksKey). Entries of other
// versions (e.g. v1a) are ignored. `timestamp` is the webhook-timestamp header text verbatim;
// checking its age is the caller's job. Comparison is constant-time. False for a malformed
// header or an unusable secret.
bool VerifyStandardSignature(std::string_view header_value, std::string_view id,
                             std::string_view timestamp, std::string_view body, const Secret& secret);

// True when an X-FraiseQL-Signature-256 (or Stripe-Signature) header value carries a decimal
// `t=` and some `v1=` entry equal to hex(HMAC-SHA256(secret verbatim, "{t}.{body}")); other
// keys (e.g. v0) are ignored, and the first `t=` counts. When `tolerance` is positive the
// timestamp must also lie within `tolerance` of `now_unix_seconds`, either side; zero means no
// age check (Stripe's low-level default). Comparison is constant-time.
bool VerifyFraiseqlSignature(std::string_view header_value, std::string_view body, const Secret& secret,
                             int64_t now_unix_seconds, std::chrono::seconds tolerance);

}  // namespace fraiseql
