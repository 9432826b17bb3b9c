#include "common/diagnostic.h"

#include <string_view>

namespace fraiseql {

std::string Diagnostic::ToString() const {
  std::string out;
  if (!location.file.empty()) out += location.file + ":";
  out += std::to_string(location.line) + ":" + std::to_string(location.column) + ": ";
  out += severity == Severity::kError ? "error: " : "warning: ";
  out += message;
  return out;
}

SourceLocation LocationOfOffset(std::string_view text, size_t offset) {
  SourceLocation location;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++location.line;
      location.column = 1;
    } else {
      ++location.column;
    }
  }
  return location;
}

}  // namespace fraiseql
