// The condition parser: turns source text into the tree of ast.h, with errors that say what
// was expected, what was found and where (line and column inside the condition).
// Thread-safety: pure function.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "common/diagnostic.h"
#include "common/result.h"
#include "condition/ast.h"

namespace fraiseql::condition_internal {

// Grammar (keywords and function names in any case; NOT binds tighter than AND, AND than OR):
//   condition  := or
//   or         := and ( ("||" | OR) and )*
//   and        := not ( ("&&" | AND) not )*
//   not        := ("!" | NOT) not | primary
//   primary    := "(" or ")" | function | predicate
//   function   := name "(" argument ("," argument)* ")"
//   predicate  := operand ( compare operand | [NOT] IN "(" operand ("," operand)* ")"
//                         | IS [NOT] NULL )?
//   compare    := "==" | "=" | "!=" | "<>" | "<" | "<=" | ">" | ">="
//   operand    := field path | string | number | TRUE | FALSE | NULL
// A bare word compared with a field (`status == active`) is the string 'active', as in the
// anchor; it adds a warning to `warnings`. An operand alone must be a boolean field or literal.
// Errors are kInvalidArgument with `location` set.
Result<std::unique_ptr<Node>> Parse(std::string_view source, std::vector<Diagnostic>* warnings);

}  // namespace fraiseql::condition_internal
