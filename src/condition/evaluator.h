// The condition evaluator: walks a compiled tree against one event, reading fields through
// precompiled FieldPaths and comparing ValueViews, without parsing or allocating on success.
// Thread-safety: pure function over immutable inputs; may run concurrently.
#pragma once

#include "common/result.h"
#include "condition/ast.h"
#include "event/entity_event.h"

namespace fraiseql::condition_internal {

// True/false, or kInvalidArgument (ordering mismatched types, a non-boolean field used alone)
// or kFailedPrecondition (field_changed* on an UPDATE without a before-image). AND and OR
// stop at the first operand that decides, so later operands raise no error.
Result<bool> Evaluate(const Node& node, const EntityEvent& event);

}  // namespace fraiseql::condition_internal
