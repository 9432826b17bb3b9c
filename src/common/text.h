// Small string helpers shared by the parsers and the CLI.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace fraiseql {

// ASCII character classes, independent of the C locale (std::isdigit & co. are not).
constexpr bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }
constexpr bool IsAsciiAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
// `text` without leading and trailing ASCII whitespace.
std::string_view TrimAsciiSpace(std::string_view text);

std::string ToUpperAscii(std::string_view text);
std::string ToLowerAscii(std::string_view text);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// At most `max_bytes` of `text`, cut before a UTF-8 continuation byte, with "..." appended
// when anything was cut. For echoing user input in messages.
std::string TruncateUtf8(std::string_view text, size_t max_bytes);

// Levenshtein distance, for "did you mean" suggestions.
size_t EditDistance(std::string_view a, std::string_view b);

// The closest candidate within a distance that scales with the word's length, if any.
std::optional<std::string> ClosestMatch(std::string_view word,
                                        std::span<const std::string_view> candidates);

}  // namespace fraiseql
