#include "condition/value.h"

#include <cmath>
#include <compare>

#include "common/text.h"

namespace fraiseql::condition_internal {
namespace {

using Type = ValueView::Type;

// 2^63 and 2^64 are exact doubles; every double in [-2^63, 2^63) truncates to an int64_t.
constexpr double kTwoTo63 = 9223372036854775808.0;
constexpr double kTwoTo64 = 18446744073709551616.0;

// The sign of the fractional part decides between an integer and a double whose truncation
// equals it.
std::partial_ordering CompareFraction(double value, double truncated) {
  return 0.0 <=> (value - truncated);
}

std::partial_ordering CompareIntDouble(int64_t i, double d) {
  if (std::isnan(d)) return std::partial_ordering::unordered;
  if (d >= kTwoTo63) return std::partial_ordering::less;
  if (d < -kTwoTo63) return std::partial_ordering::greater;
  const double truncated = std::trunc(d);
  const auto whole = static_cast<int64_t>(truncated);
  if (i != whole) return i <=> whole;
  return CompareFraction(d, truncated);
}

std::partial_ordering CompareUIntDouble(uint64_t u, double d) {
  if (std::isnan(d)) return std::partial_ordering::unordered;
  if (d < 0) return std::partial_ordering::greater;
  if (d >= kTwoTo64) return std::partial_ordering::less;
  const double truncated = std::trunc(d);
  const auto whole = static_cast<uint64_t>(truncated);
  if (u != whole) return u <=> whole;
  return CompareFraction(d, truncated);
}

std::partial_ordering CompareIntUInt(int64_t i, uint64_t u) {
  if (i < 0) return std::partial_ordering::less;
  return static_cast<uint64_t>(i) <=> u;
}

std::partial_ordering Reverse(std::partial_ordering order) { return 0 <=> order; }

// Exact comparison of two numbers, whatever their representation: doubles are never used to
// compare two integers, so 9007199254740993 != 9007199254740992.
std::partial_ordering CompareNumbers(const ValueView& a, const ValueView& b) {
  switch (a.type) {
    case Type::kInt:
      if (b.type == Type::kInt) return a.integer <=> b.integer;
      if (b.type == Type::kUInt) return CompareIntUInt(a.integer, b.unsigned_integer);
      return CompareIntDouble(a.integer, b.real);
    case Type::kUInt:
      if (b.type == Type::kInt) return Reverse(CompareIntUInt(b.integer, a.unsigned_integer));
      if (b.type == Type::kUInt) return a.unsigned_integer <=> b.unsigned_integer;
      return CompareUIntDouble(a.unsigned_integer, b.real);
    default:
      if (b.type == Type::kInt) return Reverse(CompareIntDouble(b.integer, a.real));
      if (b.type == Type::kUInt) return Reverse(CompareUIntDouble(b.unsigned_integer, a.real));
      return a.real <=> b.real;
  }
}

std::optional<Timestamp> TextAsTimestamp(const ValueView& value) {
  if (value.text_timestamp != nullptr) return *value.text_timestamp;
  auto parsed = ParseTimestamp(value.text);
  if (!parsed) return std::nullopt;
  return *parsed;
}

// Both views as timestamps, when one is a timestamp and the other one or a string reading as
// one.
bool AsTimestamps(const ValueView& a, const ValueView& b, Timestamp* ta, Timestamp* tb) {
  auto as_timestamp = [](const ValueView& value) -> std::optional<Timestamp> {
    if (value.type == Type::kTimestamp) return value.timestamp;
    if (value.type == Type::kString) return TextAsTimestamp(value);
    return std::nullopt;
  };
  if (a.type != Type::kTimestamp && b.type != Type::kTimestamp) return false;
  auto first = as_timestamp(a);
  auto second = as_timestamp(b);
  if (!first || !second) return false;
  *ta = *first;
  *tb = *second;
  return true;
}

Ordering FromPartial(std::partial_ordering order) {
  if (order == std::partial_ordering::less) return Ordering::kLess;
  if (order == std::partial_ordering::greater) return Ordering::kGreater;
  if (order == std::partial_ordering::equivalent) return Ordering::kEqual;
  return Ordering::kUnordered;
}

}  // namespace

ValueView ValueView::FromJson(const nlohmann::json& json) {
  ValueView view;
  using JsonType = nlohmann::json::value_t;
  switch (json.type()) {
    case JsonType::null:
    case JsonType::discarded:
      view.type = Type::kNull;
      break;
    case JsonType::boolean:
      view.type = Type::kBool;
      view.boolean = *json.get_ptr<const nlohmann::json::boolean_t*>();
      break;
    case JsonType::number_integer:
      view.type = Type::kInt;
      view.integer = *json.get_ptr<const nlohmann::json::number_integer_t*>();
      break;
    case JsonType::number_unsigned:
      view.type = Type::kUInt;
      view.unsigned_integer = *json.get_ptr<const nlohmann::json::number_unsigned_t*>();
      break;
    case JsonType::number_float:
      view.type = Type::kDouble;
      view.real = *json.get_ptr<const nlohmann::json::number_float_t*>();
      break;
    case JsonType::string:
      view.type = Type::kString;
      view.text = *json.get_ptr<const nlohmann::json::string_t*>();
      break;
    case JsonType::array:
      view.type = Type::kArray;
      view.json = &json;
      break;
    case JsonType::object:
    case JsonType::binary:
      view.type = Type::kObject;
      view.json = &json;
      break;
  }
  return view;
}

ValueView ValueView::FromRef(const ValueRef& ref) {
  ValueView view;
  switch (ref.kind()) {
    case ValueRef::Kind::kMissing: break;
    case ValueRef::Kind::kJson: return FromJson(ref.json());
    case ValueRef::Kind::kText:
      view.type = Type::kString;
      view.text = ref.text();
      break;
    case ValueRef::Kind::kInteger:
      view.type = Type::kInt;
      view.integer = ref.integer();
      break;
    case ValueRef::Kind::kTimestamp:
      view.type = Type::kTimestamp;
      view.timestamp = ref.timestamp();
      break;
  }
  return view;
}

ValueView ValueView::FromLiteral(const Literal& literal) {
  ValueView view;
  switch (literal.type) {
    case Literal::Type::kNull: view.type = Type::kNull; break;
    case Literal::Type::kBool:
      view.type = Type::kBool;
      view.boolean = literal.boolean;
      break;
    case Literal::Type::kInt:
      view.type = Type::kInt;
      view.integer = literal.integer;
      break;
    case Literal::Type::kUInt:
      view.type = Type::kUInt;
      view.unsigned_integer = literal.unsigned_integer;
      break;
    case Literal::Type::kDouble:
      view.type = Type::kDouble;
      view.real = literal.real;
      break;
    case Literal::Type::kString:
      view.type = Type::kString;
      view.text = literal.text;
      view.text_timestamp = &literal.timestamp;
      break;
  }
  return view;
}

bool Equal(const ValueView& a, const ValueView& b) {
  if (a.is_null() || b.is_null()) return a.is_null() && b.is_null();
  if (a.is_number() || b.is_number()) {
    return a.is_number() && b.is_number() &&
           CompareNumbers(a, b) == std::partial_ordering::equivalent;
  }
  if (a.type == Type::kString && b.type == Type::kString) return a.text == b.text;
  Timestamp ta;
  Timestamp tb;
  if (AsTimestamps(a, b, &ta, &tb)) return ta == tb;
  if (a.type != b.type) return false;
  switch (a.type) {
    case Type::kBool: return a.boolean == b.boolean;
    case Type::kArray:
    case Type::kObject: return *a.json == *b.json;
    default: return false;
  }
}

Ordering Order(const ValueView& a, const ValueView& b) {
  if (a.is_null() || b.is_null()) return Ordering::kNull;
  if (a.is_number() && b.is_number()) return FromPartial(CompareNumbers(a, b));
  if (a.type == Type::kString && b.type == Type::kString) {
    const int order = a.text.compare(b.text);
    return order < 0 ? Ordering::kLess : order > 0 ? Ordering::kGreater : Ordering::kEqual;
  }
  Timestamp ta;
  Timestamp tb;
  if (AsTimestamps(a, b, &ta, &tb)) return FromPartial(ta <=> tb);
  return Ordering::kMismatch;
}

std::string_view TypeName(const ValueView& value) {
  switch (value.type) {
    case Type::kMissing: return "missing";
    case Type::kNull: return "null";
    case Type::kBool: return "a boolean";
    case Type::kInt:
    case Type::kUInt:
    case Type::kDouble: return "a number";
    case Type::kString: return "a string";
    case Type::kTimestamp: return "a timestamp";
    case Type::kArray: return "an array";
    case Type::kObject: return "an object";
  }
  return "a value";
}

std::string DescribeValue(const ValueView& value) {
  constexpr size_t kMaxLength = 40;
  std::string text;
  switch (value.type) {
    case Type::kMissing: return "missing";
    case Type::kNull: return "null";
    case Type::kBool: return value.boolean ? "true" : "false";
    case Type::kInt: return std::to_string(value.integer);
    case Type::kUInt: return std::to_string(value.unsigned_integer);
    case Type::kDouble: text = nlohmann::json(value.real).dump(); break;
    case Type::kString: text = QuoteString(value.text); break;
    case Type::kTimestamp: text = FormatTimestamp(value.timestamp); break;
    case Type::kArray:
    case Type::kObject:
      // The replacing handler keeps dump() from throwing on invalid UTF-8.
      text = value.json->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      break;
  }
  return TruncateUtf8(text, kMaxLength);
}

}  // namespace fraiseql::condition_internal
