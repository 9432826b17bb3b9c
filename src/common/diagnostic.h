// SourceLocation and Diagnostic: where a problem is and what it is, for every parser
// (config files, conditions, templates), printed as `file:line:col: error: message`.
// Thread-safety: value types.
#pragma once

#include <cstdint>
#include <string_view>
#include <string>
#include <vector>

namespace fraiseql {

struct SourceLocation {
  std::string file;    // empty inside an expression: the caller adds its own position
  uint32_t line = 1;   // 1-based
  uint32_t column = 1; // 1-based, in bytes

  friend bool operator==(const SourceLocation&, const SourceLocation&) = default;
};

enum class Severity { kError, kWarning };

struct Diagnostic {
  Severity severity = Severity::kError;
  SourceLocation location;
  std::string message;

  // "file:line:col: error: message" (without "file:" when the file is unknown).
  std::string ToString() const;

  friend bool operator==(const Diagnostic&, const Diagnostic&) = default;
};

// Line and column (1-based) of byte `offset` in `text`.
SourceLocation LocationOfOffset(std::string_view text, size_t offset);

}  // namespace fraiseql
