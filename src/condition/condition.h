// The condition language of observers (`total > 100 && status == 'shipped'`): compiled once
// at config load into an immutable tree, then evaluated against events without parsing.
// Thread-safety: a compiled Condition is immutable; Evaluate() may run concurrently.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/diagnostic.h"
#include "common/result.h"
#include "event/entity_event.h"

namespace fraiseql {

namespace condition_internal {
struct Node;
}

inline constexpr size_t kMaxConditionBytes = 4096;
inline constexpr int kMaxConditionDepth = 64;

class Condition {
 public:
  // Parses `source`. On a syntax error the Error (kInvalidArgument) carries `location`: line
  // and column (1-based) inside `source` where the problem is; its `file` is empty.
  // Non-fatal findings (e.g. a bare word compared as a string) go to warnings().
  static Result<Condition> Compile(std::string_view source);

  // True/false, or an evaluation error (kInvalidArgument: e.g. ordering a number against a
  // string; kFailedPrecondition: field_changed on an UPDATE without a before-image).
  Result<bool> Evaluate(const EntityEvent& event) const;

  const std::string& source() const { return source_; }
  const std::vector<Diagnostic>& warnings() const { return warnings_; }
  // Display form with explicit parentheses, e.g. "(total > 100) && (status == 'shipped')".
  std::string ToString() const;

 private:
  std::string source_;
  std::shared_ptr<const condition_internal::Node> root_;
  std::vector<Diagnostic> warnings_;
};

}  // namespace fraiseql
