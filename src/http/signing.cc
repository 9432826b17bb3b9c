#include "http/signing.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <string>
#include <system_error>
#include <vector>

namespace fraiseql {
namespace {

constexpr size_t kSha256Size = 32;

const unsigned char* Bytes(std::string_view text) { return reinterpret_cast<const unsigned char*>(text.data()); }
unsigned char* MutableBytes(std::string& text) { return reinterpret_cast<unsigned char*>(text.data()); }

std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t end = text.find(separator, start);
    if (end == std::string_view::npos) {
      parts.push_back(text.substr(start));
      return parts;
    }
    parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
}

bool IsValidDeliveryId(std::string_view id) {
  if (id.empty()) return false;
  return std::none_of(id.begin(), id.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return c == '.' || c == ' ' || byte < 0x20 || byte == 0x7f;
  });
}

std::string StandardSignedContent(std::string_view id, std::string_view timestamp, std::string_view body) {
  std::string content;
  content.reserve(id.size() + timestamp.size() + body.size() + 2);
  content.append(id).append(".").append(timestamp).append(".").append(body);
  return content;
}

std::string FraiseqlSignedContent(std::string_view timestamp, std::string_view body) {
  std::string content;
  content.reserve(timestamp.size() + body.size() + 1);
  content.append(timestamp).append(".").append(body);
  return content;
}

bool IsDecimal(std::string_view text) {
  const size_t digits_from = (!text.empty() && text.front() == '-') ? 1 : 0;
  if (text.size() <= digits_from) return false;
  return std::all_of(text.begin() + static_cast<std::ptrdiff_t>(digits_from), text.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  // OpenSSL may reject a null key pointer even with length 0; point at a real byte instead.
  static constexpr unsigned char kNoKey = 0;
  const unsigned char* key_bytes = key.empty() ? &kNoKey : Bytes(key);
  std::string mac(kSha256Size, '\0');
  unsigned int mac_size = 0;
  // The one-shot HMAC() owns no object past the call, so there is nothing to free here.
  if (HMAC(EVP_sha256(), key_bytes, static_cast<int>(key.size()), Bytes(data), data.size(), MutableBytes(mac),
           &mac_size) == nullptr ||
      mac_size != kSha256Size) {
    return {};
  }
  return mac;
}

std::string HexLower(std::string_view bytes) {
  static constexpr std::string_view kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    out.push_back(kDigits[byte >> 4]);
    out.push_back(kDigits[byte & 0x0f]);
  }
  return out;
}

Result<std::vector<HttpHeaderLine>> SignWebhook(std::string_view delivery_id, int64_t unix_seconds,
                                                std::string_view body, std::span<const Secret> secrets,
                                                SigningScheme scheme) {
  using Scheme = SigningScheme;
  if (!IsValidDeliveryId(delivery_id)) {
    return Error::InvalidArgument("webhook delivery id must be non-empty, without '.', spaces or control characters");
  }
  const std::string timestamp = std::to_string(unix_seconds);
  std::vector<HttpHeaderLine> headers;
  headers.push_back({std::string(kWebhookIdHeader), std::string(delivery_id)});
  headers.push_back({std::string(kWebhookTimestampHeader), timestamp});
  if (secrets.empty()) return headers;

  for (size_t i = 0; i < secrets.size(); ++i) {
    if (secrets[i].empty()) {
      return Error::InvalidArgument("signing secret #" + std::to_string(i + 1) + " is empty");
    }
  }

  if (scheme == Scheme::kStandard || scheme == Scheme::kBoth) {
    const std::string content = StandardSignedContent(delivery_id, timestamp, body);
    std::string value;
    for (size_t i = 0; i < secrets.size(); ++i) {
      Result<std::string> key = StandardWebhooksKey(secrets[i]);
      if (!key) {
        return Error::InvalidArgument("signing secret #" + std::to_string(i + 1) + ": " + key.error().message);
      }
      const std::string mac = HmacSha256(*key, content);
      if (mac.empty()) return Error::Internal("HMAC-SHA256 failed in OpenSSL");
      if (!value.empty()) value += ' ';
      value += "v1,";
      value += Base64Encode(mac);
    }
    headers.push_back({std::string(kWebhookSignatureHeader), std::move(value)});
  }

  if (scheme == Scheme::kFraiseql || scheme == Scheme::kBoth) {
    const std::string content = FraiseqlSignedContent(timestamp, body);
    std::string value = "t=" + timestamp;
    for (const Secret& secret : secrets) {
      const std::string mac = HmacSha256(secret.Reveal(), content);
      if (mac.empty()) return Error::Internal("HMAC-SHA256 failed in OpenSSL");
      value += ",v1=";
      value += HexLower(mac);
    }
    headers.push_back({std::string(kFraiseqlSignatureHeader), std::move(value)});
  }
  return headers;
}

bool VerifyStandardSignature(std::string_view header_value, std::string_view id,
                             std::string_view timestamp, std::string_view body, const Secret& secret) {
  Result<std::string> key = StandardWebhooksKey(secret);
  if (!key || key->empty()) return false;
  const std::string mac = HmacSha256(*key, StandardSignedContent(id, timestamp, body));
  if (mac.empty()) return false;
  const std::string expected = Base64Encode(mac);
  bool matched = false;
  // Every entry is compared, even after a match, so timing does not reveal which key matched.
  for (const std::string_view entry : Split(header_value, ' ')) {
    const size_t comma = entry.find(',');
    if (comma == std::string_view::npos || entry.substr(0, comma) != "v1") continue;
    if (ConstantTimeEquals(entry.substr(comma + 1), expected)) matched = true;
  }
  return matched;
}

bool VerifyFraiseqlSignature(std::string_view header_value, std::string_view body, const Secret& secret,
                             int64_t now_unix_seconds, std::chrono::seconds tolerance) {
  std::optional<std::string_view> timestamp;
  std::vector<std::string_view> signatures;
  for (const std::string_view item : Split(header_value, ',')) {
    const size_t equals = item.find('=');
    if (equals == std::string_view::npos) continue;
    const std::string_view key = item.substr(0, equals);
    const std::string_view value = item.substr(equals + 1);
    if (key == "t" && !timestamp) timestamp = value;
    if (key == "v1") signatures.push_back(value);
  }
  if (!timestamp || !IsDecimal(*timestamp) || signatures.empty()) return false;

  if (tolerance.count() > 0) {
    int64_t signed_at = 0;
    const auto [end, error] = std::from_chars(timestamp->data(), timestamp->data() + timestamp->size(), signed_at);
    if (error != std::errc() || end != timestamp->data() + timestamp->size()) return false;
    // The distance is taken in uint64_t: exact for any two int64_t values (the larger minus the
    // smaller is below 2^64), where a signed subtraction could overflow.
    const uint64_t distance = signed_at < now_unix_seconds
                                  ? static_cast<uint64_t>(now_unix_seconds) - static_cast<uint64_t>(signed_at)
                                  : static_cast<uint64_t>(signed_at) - static_cast<uint64_t>(now_unix_seconds);
    if (distance > static_cast<uint64_t>(tolerance.count())) return false;
  }

  const std::string mac = HmacSha256(secret.Reveal(), FraiseqlSignedContent(*timestamp, body));
  if (mac.empty()) return false;
  const std::string expected = HexLower(mac);
  bool matched = false;
  for (const std::string_view signature : signatures) {
    if (ConstantTimeEquals(signature, expected)) matched = true;
  }
  return matched;
}

}  // namespace fraiseql
