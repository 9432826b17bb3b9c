// JsonLimits: the nesting depth and size every JSON text read from outside must keep (change-log
// rows, event files, HTTP bodies, and the replies of Redis, Elasticsearch and NATS as they land).
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace fraiseql {

// Why: nlohmann's parser is iterative, but copying, comparing and dumping a value recurse once per
// level, so 100,000 nested arrays parse fine and then overflow the stack. The scan below is a loop
// over the bytes, cheap next to the parse it guards. docs/security.md states these defaults.
inline constexpr size_t kDefaultJsonMaxDepth = 128;
inline constexpr size_t kDefaultJsonMaxBytes = size_t{64} << 20;  // 64 MiB

struct JsonLimits {
  // Arrays and objects open at once: `[]` is 1, `{"a": [1]}` is 2, a scalar 0.
  size_t max_depth = kDefaultJsonMaxDepth;
  size_t max_bytes = kDefaultJsonMaxBytes;
};

// The ErrorDetail domain of a refusal below, and its codes.
inline constexpr std::string_view kJsonErrorDomain = "json";
inline constexpr std::string_view kJsonTooLarge = "too_large";
inline constexpr std::string_view kJsonTooDeep = "too_deep";
inline constexpr std::string_view kJsonSyntax = "syntax";

// Ok when `text` is within `limits`, without recursion and without judging the syntax (the parser
// does that). Otherwise kInvalidArgument with detail (kJsonErrorDomain, kJsonTooLarge or
// kJsonTooDeep), its message naming the 0-based byte offset where the limit is crossed, and
// `location` the line and column of that byte.
Result<void> CheckJsonLimits(std::string_view text, const JsonLimits& limits = {});

// CheckJsonLimits, then nlohmann's parser. A syntax error is kInvalidArgument with detail
// kJsonSyntax, the byte offset in its message and its line and column in `location`.
Result<nlohmann::json> ParseJsonWithin(std::string_view text, const JsonLimits& limits = {});

}  // namespace fraiseql
