// HTTP header lines as requests and responses carry them, in order, and the one case-insensitive
// lookup every client and server path uses.
// Thread-safety: value types and pure functions.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace fraiseql {

// One header, in the order it is sent or was received.
struct HttpHeaderLine {
  std::string name;
  std::string value;

  friend bool operator==(const HttpHeaderLine&, const HttpHeaderLine&) = default;
};

// The value of the first header named `name` (compared case-insensitively, as RFC 9110 wants).
std::optional<std::string_view> FindHeader(std::span<const HttpHeaderLine> headers, std::string_view name);

inline bool HasHeader(std::span<const HttpHeaderLine> headers, std::string_view name) {
  return FindHeader(headers, name).has_value();
}

}  // namespace fraiseql
