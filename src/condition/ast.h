// The compiled form of a condition: an immutable tree whose literals are already parsed and
// whose field operands are precompiled FieldPaths, so evaluation never looks at source text.
// Thread-safety: built once by the parser, then only read; safe to share between threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "event/entity_event.h"
#include "event/field_path.h"

namespace fraiseql::condition_internal {

enum class CompareOp : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe };

// The canonical spelling ("==" for both `==` and `=`, "!=" for both `!=` and `<>`).
std::string_view CompareOpText(CompareOp op);

// A literal value. Numbers keep their source text so ToString() shows what the user wrote.
struct Literal {
  enum class Type : uint8_t { kNull, kBool, kInt, kUInt, kDouble, kString };

  Type type = Type::kNull;
  bool boolean = false;
  int64_t integer = 0;
  uint64_t unsigned_integer = 0;
  double real = 0;
  // kString: the decoded value; numbers: their source text.
  std::string text;
  // kString only: the value read as a timestamp, when it is one, so comparisons with
  // event.timestamp need no parsing at evaluation time.
  std::optional<Timestamp> timestamp;

  static Literal Null() { return {}; }
  static Literal Bool(bool value) {
    Literal literal;
    literal.type = Type::kBool;
    literal.boolean = value;
    return literal;
  }
  static Literal String(std::string value);
};

// Parses JSON number syntax (-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?). Integers become
// kInt, or kUInt above INT64_MAX, or kDouble above UINT64_MAX. nullopt when `text` is not a
// number or does not fit a double.
std::optional<Literal> ParseNumber(std::string_view text);

// True when `text` has JSON number syntax, whether or not it fits a double.
bool HasNumberSyntax(std::string_view text);

// One side of a comparison, an item of an IN list, or a condition on its own (`NOT deleted`).
struct Operand {
  bool is_field = false;
  FieldPath path;   // when is_field
  Literal literal;  // otherwise
};

enum class Function : uint8_t { kHasField, kFieldChanged, kFieldChangedTo, kFieldChangedFrom };

// The canonical (anchor) name: has_field, field_changed, field_changed_to, field_changed_from.
std::string_view FunctionName(Function function);

// The second argument of field_changed_to/_from. It matches a value equal to it as a string,
// or, when its text is a number (or true/false/null), equal to that JSON value.
struct ChangeValue {
  Literal as_string;
  std::optional<Literal> as_json;  // the text read as a JSON number, boolean or null
  std::string display;             // as ToString() shows it: '50', 50, true
};

enum class NodeKind : uint8_t {
  kAnd,       // children: two or more, evaluated left to right
  kOr,        // children: two or more, evaluated left to right
  kNot,       // children: one
  kCompare,   // lhs op rhs
  kIn,        // lhs [NOT] IN (list)
  kIsNull,    // lhs IS [NOT] NULL
  kFunction,  // function(path [, value])
  kTruth,     // lhs alone: a boolean field or literal
};

struct Node {
  NodeKind kind = NodeKind::kTruth;
  std::vector<std::unique_ptr<Node>> children;
  CompareOp op = CompareOp::kEq;
  bool negated = false;  // NOT IN, IS NOT NULL
  Operand lhs;
  Operand rhs;
  std::vector<Operand> list;
  Function function = Function::kHasField;
  FieldPath path;     // kFunction
  ChangeValue value;  // kFunction with a value argument
};

// Writes the display form: every operand of AND, OR and NOT in parentheses, operators and
// function names in their canonical spelling, strings single-quoted. Parsing the output
// gives the same tree.
std::string NodeToString(const Node& node);

// An operand as ToString() shows it: a field path or a literal.
std::string OperandToString(const Operand& operand);

// A string literal as the language writes it: single quotes, backslash escapes.
std::string QuoteString(std::string_view text);

}  // namespace fraiseql::condition_internal
