#include "common/json_limits.h"

#include <string>

namespace fraiseql {
namespace {

Error Refusal(std::string_view text, size_t offset, std::string_view code, std::string message) {
  return Error::InvalidArgument(std::move(message))
      .WithDetail(std::string(kJsonErrorDomain), std::string(code))
      .At(LocationOfOffset(text, offset));
}

// "64 MiB" for whole mebibytes, else the byte count: limits are usually round.
std::string Bytes(size_t count) {
  constexpr size_t kMiB = size_t{1} << 20;
  if (count >= kMiB && count % kMiB == 0) return std::to_string(count / kMiB) + " MiB";
  return std::to_string(count) + " bytes";
}

}  // namespace

Result<void> CheckJsonLimits(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return Refusal(text, limits.max_bytes, kJsonTooLarge,
                   "JSON text of " + std::to_string(text.size()) + " bytes is over the limit of " +
                       Bytes(limits.max_bytes) + " (at byte offset " + std::to_string(limits.max_bytes) + ")");
  }
  // Only brackets outside strings nest; inside a string a backslash escapes the next byte, which is
  // all a scan needs to find the closing quote (\uXXXX holds no quote). Unbalanced or otherwise
  // broken text is left to the parser, which stops at its first error.
  size_t depth = 0;
  bool in_string = false;
  for (size_t offset = 0; offset < text.size(); ++offset) {
    const char c = text[offset];
    if (in_string) {
      if (c == '\\') {
        ++offset;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"': in_string = true; break;
      case '[':
      case '{':
        if (++depth > limits.max_depth) {
          return Refusal(text, offset, kJsonTooDeep,
                         "JSON nests deeper than " + std::to_string(limits.max_depth) +
                             " levels of arrays and objects (at byte offset " + std::to_string(offset) + ")");
        }
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      default: break;
    }
  }
  return Ok();
}

Result<nlohmann::json> ParseJsonWithin(std::string_view text, const JsonLimits& limits) {
  FRAISEQL_RETURN_IF_ERROR(CheckJsonLimits(text, limits));
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& error) {
    // `byte` counts from 1 and names the last byte read; 0 when nothing was.
    const size_t offset = error.byte > 0 ? error.byte - 1 : 0;
    // "[json.exception.parse_error.101] parse error at line 3, column 0: <reason>": the id is
    // nlohmann's, and its position disagrees with ours (it counts columns from 0, after the byte).
    std::string reason = error.what();
    if (const size_t end = reason.find(": "); reason.starts_with("[json.exception.") && end != std::string::npos) {
      reason.erase(0, end + 2);
    }
    return Refusal(text, std::min(offset, text.size()), kJsonSyntax,
                   "invalid JSON at byte offset " + std::to_string(offset) + ": " + reason);
  }
}

}  // namespace fraiseql
