#include "condition/evaluator.h"

#include <utility>

#include "condition/value.h"
#include "event/field_path.h"

namespace fraiseql::condition_internal {
namespace {

// Evaluation results travel as a small enum; the Error is built only on failure, so the
// common path neither allocates nor copies an Error.
enum class Truth : uint8_t { kFalse, kTrue, kError };

Truth FromBool(bool value) { return value ? Truth::kTrue : Truth::kFalse; }

// "total is a number (150)" for a field, "'abc' is a string" for a literal.
std::string Explain(const Operand& operand, const ValueView& value) {
  std::string text = OperandToString(operand) + " is " + std::string(TypeName(value));
  if (operand.is_field) text += " (" + DescribeValue(value) + ")";
  return text;
}

class Evaluator {
 public:
  explicit Evaluator(const EntityEvent& event) : event_(event) {}

  // Recursion depth is bounded by the parser's nesting limit.
  Truth Eval(const Node& node) {
    switch (node.kind) {
      case NodeKind::kAnd:
        for (const auto& child : node.children) {
          const Truth truth = Eval(*child);
          if (truth != Truth::kTrue) return truth;
        }
        return Truth::kTrue;
      case NodeKind::kOr:
        for (const auto& child : node.children) {
          const Truth truth = Eval(*child);
          if (truth != Truth::kFalse) return truth;
        }
        return Truth::kFalse;
      case NodeKind::kNot: {
        const Truth truth = Eval(*node.children[0]);
        if (truth == Truth::kError) return truth;
        return FromBool(truth == Truth::kFalse);
      }
      case NodeKind::kCompare: return Compare(node);
      case NodeKind::kIn: return In(node);
      case NodeKind::kIsNull: return FromBool(Resolve(node.lhs).is_null() != node.negated);
      case NodeKind::kFunction: return Call(node);
      case NodeKind::kTruth: return TruthOf(node);
    }
    return Fail(Error::Internal("unknown condition node"));
  }

  Error TakeError() { return std::move(error_); }

 private:
  ValueView Resolve(const Operand& operand) const {
    if (operand.is_field) return ValueView::FromRef(operand.path.Resolve(event_));
    return ValueView::FromLiteral(operand.literal);
  }

  Truth Fail(Error error) {
    error_ = std::move(error);
    return Truth::kError;
  }

  Truth Compare(const Node& node) {
    const ValueView a = Resolve(node.lhs);
    const ValueView b = Resolve(node.rhs);
    switch (node.op) {
      case CompareOp::kEq: return FromBool(Equal(a, b));
      case CompareOp::kNe: return FromBool(!Equal(a, b));
      default: break;
    }
    const Ordering order = Order(a, b);
    switch (order) {
      case Ordering::kNull:
      case Ordering::kUnordered: return Truth::kFalse;
      case Ordering::kMismatch: return Fail(OrderingError(node, a, b));
      default: break;
    }
    switch (node.op) {
      case CompareOp::kLt: return FromBool(order == Ordering::kLess);
      case CompareOp::kLe: return FromBool(order != Ordering::kGreater);
      case CompareOp::kGt: return FromBool(order == Ordering::kGreater);
      default: return FromBool(order != Ordering::kLess);  // kGe
    }
  }

  static Error OrderingError(const Node& node, const ValueView& a, const ValueView& b) {
    const std::string op(CompareOpText(node.op));
    return Error::InvalidArgument("cannot evaluate " + NodeToString(node) + ": " +
                                  Explain(node.lhs, a) + " and " + Explain(node.rhs, b) + "; '" +
                                  op + "' orders two numbers, two strings or two timestamps");
  }

  Truth In(const Node& node) {
    const ValueView value = Resolve(node.lhs);
    bool found = false;
    for (const Operand& item : node.list) {
      if (Equal(value, Resolve(item))) {
        found = true;
        break;
      }
    }
    return FromBool(found != node.negated);
  }

  // An operand alone: booleans are themselves, null and missing are false.
  Truth TruthOf(const Node& node) {
    const ValueView value = Resolve(node.lhs);
    if (value.type == ValueView::Type::kBool) return FromBool(value.boolean);
    if (value.is_null()) return Truth::kFalse;
    const std::string name = OperandToString(node.lhs);
    return Fail(Error::InvalidArgument(
        Explain(node.lhs, value) + ", not a boolean: an operand alone is a condition only when "
        "it is true, false or null; compare it instead (e.g. " + name + " IS NOT NULL)"));
  }

  Truth Call(const Node& node) {
    if (node.function == Function::kHasField) {
      return FromBool(!node.path.Resolve(event_).missing());
    }
    // Only an UPDATE has a change set; the other kinds changed nothing field by field.
    if (event_.event_type != EventKind::kUpdate) return Truth::kFalse;
    // Reached through std::map so no JSON iterator (and no throwing accessor) is involved.
    const auto* changes = event_.changes.get_ptr<const nlohmann::json::object_t*>();
    if (changes == nullptr) {
      return Fail(Error::FailedPrecondition(
          NodeToString(node) + " needs the UPDATE's before-image, but this event has none "
          "(changes is null): record pre-images for the table (fraiseql-observer attach "
          "--pre-image, which fills object_data_before)"));
    }
    const std::vector<std::string>& segments = node.path.segments();
    auto entry = changes->find(segments[0]);
    if (entry == changes->end()) return Truth::kFalse;
    const ValueRef old_value = Side(entry->second, "old", segments);
    const ValueRef new_value = Side(entry->second, "new", segments);
    // The change set is shallow: a top-level key in it changed; below it, compare the sides.
    if (segments.size() > 1 && !Differ(old_value, new_value)) return Truth::kFalse;
    switch (node.function) {
      case Function::kFieldChangedTo: return FromBool(Matches(new_value, node.value));
      case Function::kFieldChangedFrom: return FromBool(Matches(old_value, node.value));
      default: return Truth::kTrue;
    }
  }

  // The value at `segments` (below the first) inside the "old" or "new" side of an entry.
  static ValueRef Side(const nlohmann::json& entry, const char* side,
                       const std::vector<std::string>& segments) {
    const auto* sides = entry.get_ptr<const nlohmann::json::object_t*>();
    if (sides == nullptr) return ValueRef::Missing();
    auto it = sides->find(side);
    if (it == sides->end()) return ValueRef::Missing();
    return WalkJson(it->second, segments, 1);
  }

  static bool Differ(const ValueRef& old_value, const ValueRef& new_value) {
    if (old_value.missing() || new_value.missing()) {
      return old_value.missing() != new_value.missing();
    }
    return !Equal(ValueView::FromRef(old_value), ValueView::FromRef(new_value));
  }

  static bool Matches(const ValueRef& ref, const ChangeValue& value) {
    const ValueView view = ValueView::FromRef(ref);
    if (Equal(view, ValueView::FromLiteral(value.as_string))) return true;
    return value.as_json && Equal(view, ValueView::FromLiteral(*value.as_json));
  }

  const EntityEvent& event_;
  Error error_;
};

}  // namespace

Result<bool> Evaluate(const Node& node, const EntityEvent& event) {
  Evaluator evaluator(event);
  const Truth truth = evaluator.Eval(node);
  if (truth == Truth::kError) return evaluator.TakeError();
  return truth == Truth::kTrue;
}

}  // namespace fraiseql::condition_internal
