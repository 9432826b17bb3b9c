// Base64 (RFC 4648 section 4) and the Standard Webhooks key of a signing secret: shared by the
// config loader, which refuses at load time a secret that every delivery would fail to sign
// with, and http/signing, which signs with it.
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/secret.h"

namespace fraiseql {

// The prefix of a Standard Webhooks secret whose remainder is the base64 of the key bytes.
inline constexpr std::string_view kStandardSecretPrefix = "whsec_";

// Standard base64 ('+' and '/', '=' padding), no line breaks.
std::string Base64Encode(std::string_view bytes);

// Strict inverse of Base64Encode: the length must be a multiple of 4, padding may only end the
// text, and whitespace is not skipped. nullopt when `text` is not such base64.
std::optional<std::string> Base64Decode(std::string_view text);

// The Standard Webhooks HMAC key for a secret: the base64-decoded part after "whsec_" when
// the secret has that prefix, otherwise the secret's raw bytes. (The Svix libraries would also
// base64-decode an unprefixed secret; we do not, so any operator-chosen string works as a key
// and the receiver is told to use it verbatim.) kInvalidArgument, never quoting the secret,
// when the part after "whsec_" is not base64 or decodes to nothing.
Result<std::string> StandardWebhooksKey(const Secret& secret);

}  // namespace fraiseql
