#include "condition/condition.h"

#include <utility>

#include "condition/ast.h"
#include "condition/evaluator.h"
#include "condition/parser.h"

namespace fraiseql {

Result<Condition> Condition::Compile(std::string_view source) {
  std::vector<Diagnostic> warnings;
  auto root = condition_internal::Parse(source, &warnings);
  if (!root) return std::move(root).error();
  Condition condition;
  condition.source_ = std::string(source);
  condition.root_ = std::shared_ptr<const condition_internal::Node>(std::move(*root));
  condition.warnings_ = std::move(warnings);
  return condition;
}

Result<bool> Condition::Evaluate(const EntityEvent& event) const {
  // Only a default-constructed Condition has no tree: a caller bug, not bad input.
  if (root_ == nullptr) return Error::Internal("evaluating a condition that was never compiled");
  return condition_internal::Evaluate(*root_, event);
}

std::string Condition::ToString() const {
  return root_ == nullptr ? std::string() : condition_internal::NodeToString(*root_);
}

}  // namespace fraiseql
