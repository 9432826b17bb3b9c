// ValueView: a non-owning view of one value (from an event or a literal) and the comparisons
// of the condition language, so evaluation compares values without copying or allocating.
// Thread-safety: value types and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "condition/ast.h"
#include "event/entity_event.h"
#include "event/field_path.h"

namespace fraiseql::condition_internal {

// Borrowed: valid while the event or literal it was made from lives.
struct ValueView {
  enum class Type : uint8_t {
    kMissing, kNull, kBool, kInt, kUInt, kDouble, kString, kTimestamp, kArray, kObject,
  };

  Type type = Type::kMissing;
  bool boolean = false;
  int64_t integer = 0;
  uint64_t unsigned_integer = 0;
  double real = 0;
  std::string_view text;
  // kString made from a literal that reads as a timestamp.
  const std::optional<Timestamp>* text_timestamp = nullptr;
  Timestamp timestamp{};
  const nlohmann::json* json = nullptr;  // kArray and kObject

  static ValueView FromRef(const ValueRef& ref);
  static ValueView FromJson(const nlohmann::json& json);
  static ValueView FromLiteral(const Literal& literal);

  bool is_null() const { return type == Type::kMissing || type == Type::kNull; }
  bool is_number() const {
    return type == Type::kInt || type == Type::kUInt || type == Type::kDouble;
  }
};

// The language's `==`: null equals null (a missing value is null); numbers compare by value
// across integer and floating types, exactly; a string never equals a number; a timestamp
// equals a string that reads as the same instant; arrays and objects use JSON equality.
bool Equal(const ValueView& a, const ValueView& b);

enum class Ordering : uint8_t {
  kLess, kEqual, kGreater,
  kNull,       // one side is null or missing: every ordering comparison is false
  kUnordered,  // a NaN is involved: every ordering comparison is false
  kMismatch,   // types that cannot be ordered against each other: an evaluation error
};

// Orders two numbers (exactly), two strings (by bytes) or two timestamps (a string that reads
// as a timestamp counts as one).
Ordering Order(const ValueView& a, const ValueView& b);

// "a number", "a string", "null", ...: for error messages.
std::string_view TypeName(const ValueView& value);
// Short JSON-like text of the value for error messages (long values are cut).
std::string DescribeValue(const ValueView& value);

}  // namespace fraiseql::condition_internal
