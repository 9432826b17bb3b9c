// Helpers for the config tests: load TOML text with a fixed environment, find diagnostics.
#pragma once

#include <map>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config.h"

namespace fraiseql::testing {

inline LoadResult Load(std::string_view text, std::map<std::string, std::string> env = {}) {
  LoadOptions options;
  options.getenv = [env = std::move(env)](std::string_view name) -> std::optional<std::string> {
    auto it = env.find(std::string(name));
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  return LoadConfigString(text, "test.toml", options);
}

inline std::string AllDiagnostics(const LoadResult& result) {
  std::string text;
  for (const Diagnostic& d : result.diagnostics) text += d.ToString() + "\n";
  return text;
}

// The only error of `result`; fails the test if there is not exactly one.
inline Diagnostic OnlyError(const LoadResult& result) {
  std::vector<Diagnostic> errors;
  for (const Diagnostic& d : result.diagnostics) {
    if (d.severity == Severity::kError) errors.push_back(d);
  }
  EXPECT_EQ(errors.size(), 1u) << AllDiagnostics(result);
  return errors.empty() ? Diagnostic{} : errors.front();
}

inline const char* kMinimalObserver = R"(
[[observers]]
entity = "Order"
event_type = "INSERT"

[[observers.actions]]
type = "log"
message_template = "order {{ data.id }}"
)";

}  // namespace fraiseql::testing
