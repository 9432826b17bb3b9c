#include "common/base64.h"

#include <array>
#include <cstdint>

namespace fraiseql {
namespace {

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// The 6-bit value of a base64 character, or -1.
int SextetOf(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const size_t left = bytes.size() - i;
    uint32_t group = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (left > 1) group |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    if (left > 2) group |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 2]));
    out += kAlphabet[(group >> 18) & 0x3f];
    out += kAlphabet[(group >> 12) & 0x3f];
    out += left > 1 ? kAlphabet[(group >> 6) & 0x3f] : '=';
    out += left > 2 ? kAlphabet[group & 0x3f] : '=';
  }
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  size_t padding = 0;
  if (!text.empty() && text.back() == '=') ++padding;
  if (text.size() >= 2 && text[text.size() - 2] == '=') ++padding;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const size_t data_chars = last ? 4 - padding : 4;
    uint32_t group = 0;
    for (size_t j = 0; j < 4; ++j) {
      int sextet = 0;
      if (j < data_chars) {
        sextet = SextetOf(text[i + j]);
        if (sextet < 0) return std::nullopt;  // also a '=' before the end
      }
      group = (group << 6) | static_cast<uint32_t>(sextet);
    }
    out += static_cast<char>((group >> 16) & 0xff);
    if (data_chars > 2) out += static_cast<char>((group >> 8) & 0xff);
    if (data_chars > 3) out += static_cast<char>(group & 0xff);
  }
  return out;
}

Result<std::string> StandardWebhooksKey(const Secret& secret) {
  const std::string_view text = secret.Reveal();
  if (!text.starts_with(kStandardSecretPrefix)) return std::string(text);
  std::optional<std::string> key = Base64Decode(text.substr(kStandardSecretPrefix.size()));
  if (!key) {
    return Error::InvalidArgument("the part of the signing secret after \"whsec_\" is not valid base64");
  }
  if (key->empty()) return Error::InvalidArgument("the signing secret has nothing after \"whsec_\"");
  return std::move(*key);
}

}  // namespace fraiseql
