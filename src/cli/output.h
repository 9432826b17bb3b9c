// What the subcommands print: diagnostics the way compilers do (`file:line:col: error: ...`)
// or as JSON, and JSON that never throws on invalid UTF-8 (it is replaced by U+FFFD).
// Thread-safety: pure functions.
#pragma once

#include <ostream>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/diagnostic.h"

namespace fraiseql::cli {

inline void PrintDiagnostics(const std::vector<Diagnostic>& diagnostics, std::ostream& err) {
  for (const Diagnostic& diagnostic : diagnostics) err << diagnostic.ToString() << "\n";
}

inline nlohmann::json DiagnosticsToJson(const std::vector<Diagnostic>& diagnostics) {
  nlohmann::json list = nlohmann::json::array();
  for (const Diagnostic& d : diagnostics) {
    list.push_back({{"severity", d.severity == Severity::kError ? "error" : "warning"},
                    {"file", d.location.file},
                    {"line", d.location.line},
                    {"column", d.location.column},
                    {"message", d.message}});
  }
  return list;
}

inline std::string DumpJson(const nlohmann::json& value, int indent = 2) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace fraiseql::cli
