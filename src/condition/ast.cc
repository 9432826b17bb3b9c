#include "condition/ast.h"

#include <array>
#include <charconv>
#include <cstdio>

#include "common/text.h"
#include "condition/lexer.h"

namespace fraiseql::condition_internal {
namespace {


// Cheap pre-check so only strings shaped like "2026-11-29..." pay for ParseTimestamp.
bool LooksLikeTimestamp(std::string_view text) {
  return text.size() >= 10 && IsAsciiDigit(text[0]) && IsAsciiDigit(text[3]) && text[4] == '-' &&
         text[7] == '-';
}

std::optional<Literal> ParseDouble(std::string_view text) {
  double value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error == std::errc::result_out_of_range) {
    // from_chars reports underflow and overflow alike; nlohmann's parser rounds underflow
    // towards zero and refuses overflow, as JSON readers do.
    nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_number_float()) return std::nullopt;
    value = parsed.get<double>();
  } else if (error != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  Literal literal;
  literal.type = Literal::Type::kDouble;
  literal.real = value;
  literal.text = std::string(text);
  return literal;
}

void PrintOperand(const Operand& operand, std::string* out) {
  if (!operand.is_field) {
    const Literal& literal = operand.literal;
    switch (literal.type) {
      case Literal::Type::kNull: *out += "null"; break;
      case Literal::Type::kBool: *out += literal.boolean ? "true" : "false"; break;
      case Literal::Type::kString: *out += QuoteString(literal.text); break;
      default: *out += literal.text; break;
    }
    return;
  }
  // A field named like a keyword (a data key "in" or "null") reads back only with its root.
  if (IsReservedWord(operand.path.text())) *out += "data.";
  *out += operand.path.text();
}

void PrintChild(const Node& node, std::string* out) {
  *out += '(';
  *out += NodeToString(node);
  *out += ')';
}

}  // namespace

std::string_view CompareOpText(CompareOp op) {
  switch (op) {
    case CompareOp::kEq: return "==";
    case CompareOp::kNe: return "!=";
    case CompareOp::kLt: return "<";
    case CompareOp::kLe: return "<=";
    case CompareOp::kGt: return ">";
    case CompareOp::kGe: return ">=";
  }
  return "?";
}

std::string_view FunctionName(Function function) {
  switch (function) {
    case Function::kHasField: return "has_field";
    case Function::kFieldChanged: return "field_changed";
    case Function::kFieldChangedTo: return "field_changed_to";
    case Function::kFieldChangedFrom: return "field_changed_from";
  }
  return "?";
}

Literal Literal::String(std::string value) {
  Literal literal;
  literal.type = Type::kString;
  if (LooksLikeTimestamp(value)) {
    if (auto parsed = ParseTimestamp(value)) literal.timestamp = *parsed;
  }
  literal.text = std::move(value);
  return literal;
}

bool HasNumberSyntax(std::string_view text) {
  size_t i = 0;
  auto digits = [&] {
    const size_t start = i;
    while (i < text.size() && IsAsciiDigit(text[i])) ++i;
    return i > start;
  };
  if (i < text.size() && text[i] == '-') ++i;
  if (i < text.size() && text[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < text.size() && text[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == text.size();
}

std::optional<Literal> ParseNumber(std::string_view text) {
  if (!HasNumberSyntax(text)) return std::nullopt;
  const bool integral = text.find_first_of(".eE") == std::string_view::npos;
  if (!integral) return ParseDouble(text);
  Literal literal;
  literal.text = std::string(text);
  const char* first = text.data();
  const char* last = text.data() + text.size();
  if (std::from_chars(first, last, literal.integer).ec == std::errc()) {
    literal.type = Literal::Type::kInt;
    return literal;
  }
  if (text[0] != '-' && std::from_chars(first, last, literal.unsigned_integer).ec == std::errc()) {
    literal.type = Literal::Type::kUInt;
    return literal;
  }
  return ParseDouble(text);  // beyond 64 bits, as a JSON reader would
}

std::string QuoteString(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\'': out += "\\'"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          std::array<char, 8> escape{};
          std::snprintf(escape.data(), escape.size(), "\\u%04X", static_cast<unsigned>(c));
          out += escape.data();
        } else {
          out += c;
        }
    }
  }
  out += '\'';
  return out;
}

std::string OperandToString(const Operand& operand) {
  std::string out;
  PrintOperand(operand, &out);
  return out;
}

std::string NodeToString(const Node& node) {
  std::string out;
  switch (node.kind) {
    case NodeKind::kAnd:
    case NodeKind::kOr:
      for (size_t i = 0; i < node.children.size(); ++i) {
        if (i > 0) out += node.kind == NodeKind::kAnd ? " && " : " || ";
        PrintChild(*node.children[i], &out);
      }
      break;
    case NodeKind::kNot:
      out += '!';
      PrintChild(*node.children[0], &out);
      break;
    case NodeKind::kCompare:
      PrintOperand(node.lhs, &out);
      out += ' ';
      out += CompareOpText(node.op);
      out += ' ';
      PrintOperand(node.rhs, &out);
      break;
    case NodeKind::kIn:
      PrintOperand(node.lhs, &out);
      out += node.negated ? " NOT IN (" : " IN (";
      for (size_t i = 0; i < node.list.size(); ++i) {
        if (i > 0) out += ", ";
        PrintOperand(node.list[i], &out);
      }
      out += ')';
      break;
    case NodeKind::kIsNull:
      PrintOperand(node.lhs, &out);
      out += node.negated ? " IS NOT NULL" : " IS NULL";
      break;
    case NodeKind::kFunction:
      out += FunctionName(node.function);
      out += '(';
      out += QuoteString(node.path.text());
      if (node.function == Function::kFieldChangedTo ||
          node.function == Function::kFieldChangedFrom) {
        out += ", ";
        out += node.value.display;
      }
      out += ')';
      break;
    case NodeKind::kTruth: PrintOperand(node.lhs, &out); break;
  }
  return out;
}

}  // namespace fraiseql::condition_internal
