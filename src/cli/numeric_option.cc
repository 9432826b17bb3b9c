#include "cli/numeric_option.h"

#include <algorithm>
#include <charconv>

#include "common/text.h"

namespace fraiseql::cli {

std::string IntegerRangeError(std::string_view text, int64_t min, int64_t max) {
  const std::string range = "; give a whole number from " + std::to_string(min) + " to " + std::to_string(max);
  const std::string shown = TruncateUtf8(text, 40);
  const bool negative = !text.empty() && text.front() == '-';
  const std::string_view digits = negative ? text.substr(1) : text;
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), IsAsciiDigit)) {
    return "'" + shown + "' is not a whole number" + range;
  }
  int64_t value = 0;
  // All digits (checked above): out of range is the only way this can fail.
  if (std::from_chars(text.data(), text.data() + text.size(), value).ec != std::errc()) {
    return shown + (negative ? " is less than " + std::to_string(min) : " is more than " + std::to_string(max)) + range;
  }
  if (value < min && value < 0 && min >= 0) return shown + " is negative" + range;
  if (value < min) return shown + " is less than " + std::to_string(min) + range;
  if (value > max) return shown + " is more than " + std::to_string(max) + range;
  return "";
}

CLI::Validator IntegerRange(int64_t min, int64_t max) {
  return CLI::Validator(
      [min, max](std::string& text) { return IntegerRangeError(text, min, max); },
      "INT in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
}

}  // namespace fraiseql::cli
