#include "condition/parser.h"

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <utility>

#include "common/text.h"
#include "condition/condition.h"
#include "condition/lexer.h"

namespace fraiseql::condition_internal {
namespace {

using NodePtr = std::unique_ptr<Node>;

struct FunctionSpec {
  std::string_view name;
  Function function;
  size_t arity;
};

// The anchor's names, then the documented aliases; both match in any case.
constexpr std::array<FunctionSpec, 7> kFunctions = {{
    {"has_field", Function::kHasField, 1},
    {"field_changed", Function::kFieldChanged, 1},
    {"field_changed_to", Function::kFieldChangedTo, 2},
    {"field_changed_from", Function::kFieldChangedFrom, 2},
    {"changed", Function::kFieldChanged, 1},
    {"changed_to", Function::kFieldChangedTo, 2},
    {"changed_from", Function::kFieldChangedFrom, 2},
}};

bool IsOperandToken(const Token& token) {
  switch (token.kind) {
    case TokenKind::kWord:
    case TokenKind::kString:
    case TokenKind::kNumber:
    case TokenKind::kTrue:
    case TokenKind::kFalse:
    case TokenKind::kNull: return true;
    default: return false;
  }
}

bool HasRootPrefix(std::string_view word) {
  return word.starts_with("data.") || word.starts_with("event.") || word.starts_with("changes.");
}

// How a token is named in messages: strings and numbers as written, others quoted.
std::string Describe(const Token& token) {
  constexpr size_t kMaxLength = 40;
  if (token.kind == TokenKind::kEnd) return "end of input";
  std::string text = TruncateUtf8(token.lexeme, kMaxLength);
  if (token.kind == TokenKind::kString || token.kind == TokenKind::kNumber) return text;
  return "'" + text + "'";
}

class Parser {
 public:
  Parser(std::string_view source, std::vector<Diagnostic>* warnings)
      : source_(source), tokens_(Lex(source)), warnings_(warnings) {}

  Result<NodePtr> ParseCondition() {
    if (Peek().kind == TokenKind::kEnd) {
      return ErrorAt(0, "empty condition: expected an expression such as total > 100");
    }
    NodePtr root;
    FRAISEQL_ASSIGN_OR_RETURN(root, ParseOr());
    if (Peek().kind == TokenKind::kRParen) {
      return ErrorAt(Peek().offset, "unmatched ')': no '(' is open here");
    }
    if (Peek().kind != TokenKind::kEnd) return Unexpected(Continuation("end of input"));
    return root;
  }

 private:
  const Token& Peek(size_t ahead = 0) const {
    const size_t index = std::min(next_ + ahead, tokens_.size() - 1);
    return tokens_[index];
  }
  const Token& Advance() {
    const Token& token = tokens_[next_];
    if (next_ + 1 < tokens_.size()) ++next_;
    previous_ = &token;
    return token;
  }

  Error ErrorAt(size_t offset, std::string message) const {
    return Error::InvalidArgument(std::move(message)).At(LocationOfOffset(source_, offset));
  }

  // "expected <what> after <previous token>, found <next token>", at the next token; a
  // lexical error there is reported as itself.
  Error Unexpected(std::string_view what) const {
    const Token& found = Peek();
    if (found.kind == TokenKind::kError) return ErrorAt(found.offset, found.text);
    std::string message = "expected ";
    message += what;
    if (previous_ != nullptr) message += " after " + Describe(*previous_);
    message += ", found " + Describe(found);
    return ErrorAt(found.offset, std::move(message));
  }

  // What may follow a complete operand, before `closer`.
  std::string Continuation(std::string_view closer) const {
    std::string what = last_was_bare_operand_ ? "a comparison operator, AND, OR or "
                                              : "AND, OR or ";
    what += closer;
    return what;
  }

  std::string Where(size_t offset) const {
    const SourceLocation location = LocationOfOffset(source_, offset);
    return std::to_string(location.line) + ":" + std::to_string(location.column);
  }

  // Parentheses and NOT nest; the limit keeps recursion (here and in evaluation) shallow.
  Result<void> Enter(const Token& token) {
    if (++depth_ > kMaxConditionDepth) {
      return ErrorAt(token.offset, "nesting is deeper than " + std::to_string(kMaxConditionDepth) +
                                       " levels (parentheses and NOT); simplify the condition");
    }
    return Ok();
  }

  Result<NodePtr> ParseOr() { return ParseChain(NodeKind::kOr); }
  Result<NodePtr> ParseAnd() { return ParseChain(NodeKind::kAnd); }

  // or/and: one operand, or a node holding the whole chain (a || b || c).
  Result<NodePtr> ParseChain(NodeKind kind) {
    const TokenKind separator = kind == NodeKind::kOr ? TokenKind::kOr : TokenKind::kAnd;
    auto parse_operand = [&] { return kind == NodeKind::kOr ? ParseAnd() : ParseNot(); };
    NodePtr first;
    FRAISEQL_ASSIGN_OR_RETURN(first, parse_operand());
    if (Peek().kind != separator) return first;
    auto chain = std::make_unique<Node>();
    chain->kind = kind;
    chain->children.push_back(std::move(first));
    while (Peek().kind == separator) {
      Advance();
      NodePtr next;
      FRAISEQL_ASSIGN_OR_RETURN(next, parse_operand());
      chain->children.push_back(std::move(next));
    }
    return chain;
  }

  Result<NodePtr> ParseNot() {
    if (Peek().kind != TokenKind::kNot) return ParsePrimary();
    FRAISEQL_RETURN_IF_ERROR(Enter(Advance()));
    NodePtr operand;
    FRAISEQL_ASSIGN_OR_RETURN(operand, ParseNot());
    --depth_;
    auto node = std::make_unique<Node>();
    node->kind = NodeKind::kNot;
    node->children.push_back(std::move(operand));
    return node;
  }

  Result<NodePtr> ParsePrimary() {
    const Token& token = Peek();
    if (token.kind == TokenKind::kLParen) return ParseParenthesized();
    if (token.kind == TokenKind::kWord && Peek(1).kind == TokenKind::kLParen) {
      return ParseFunction();
    }
    return ParsePredicate();
  }

  Result<NodePtr> ParseParenthesized() {
    const Token& open = Advance();
    FRAISEQL_RETURN_IF_ERROR(Enter(open));
    NodePtr inner;
    FRAISEQL_ASSIGN_OR_RETURN(inner, ParseOr());
    if (Peek().kind != TokenKind::kRParen) {
      const std::string closer = "')' to close the '(' at " + Where(open.offset);
      return Unexpected(Peek().kind == TokenKind::kEnd ? closer : Continuation(closer));
    }
    Advance();
    --depth_;
    last_was_bare_operand_ = false;
    return inner;
  }

  Result<NodePtr> ParsePredicate() {
    if (!IsOperandToken(Peek())) return Unexpected("an operand");
    const Token& first = Advance();
    auto node = std::make_unique<Node>();
    FRAISEQL_ASSIGN_OR_RETURN(node->lhs, MakeOperand(first, /*bare_word_is_string=*/false));
    last_was_bare_operand_ = false;
    switch (Peek().kind) {
      case TokenKind::kCompare: {
        node->kind = NodeKind::kCompare;
        node->op = Advance().op;
        if (!IsOperandToken(Peek())) return Unexpected("an operand");
        FRAISEQL_ASSIGN_OR_RETURN(node->rhs, MakeOperand(Advance(), node->lhs.is_field));
        return node;
      }
      case TokenKind::kNot:
        Advance();
        if (Peek().kind != TokenKind::kIn) return Unexpected("IN");
        node->negated = true;
        [[fallthrough]];
      case TokenKind::kIn:
        Advance();
        node->kind = NodeKind::kIn;
        FRAISEQL_RETURN_IF_ERROR(ParseInList(node.get()));
        return node;
      case TokenKind::kIs:
        Advance();
        node->kind = NodeKind::kIsNull;
        if (Peek().kind == TokenKind::kNot) {
          Advance();
          node->negated = true;
        }
        if (Peek().kind != TokenKind::kNull) {
          return Unexpected(node->negated ? "NULL" : "NULL or NOT NULL");
        }
        Advance();
        return node;
      default: break;
    }
    const bool boolean = node->lhs.is_field || node->lhs.literal.type == Literal::Type::kBool;
    if (!boolean) return Unexpected("a comparison operator (==, !=, <, <=, >, >=, IN or IS)");
    node->kind = NodeKind::kTruth;
    last_was_bare_operand_ = node->lhs.is_field;
    return node;
  }

  Result<void> ParseInList(Node* node) {
    if (Peek().kind != TokenKind::kLParen) return Unexpected("'(' to open the list of values");
    Advance();
    if (Peek().kind == TokenKind::kRParen) {
      return ErrorAt(Peek().offset, "an IN list needs at least one value");
    }
    while (true) {
      if (!IsOperandToken(Peek())) return Unexpected("a value");
      Operand item;
      FRAISEQL_ASSIGN_OR_RETURN(item, MakeOperand(Advance(), node->lhs.is_field));
      node->list.push_back(std::move(item));
      if (Peek().kind == TokenKind::kRParen) break;
      if (Peek().kind != TokenKind::kComma) return Unexpected("',' or ')'");
      Advance();
    }
    Advance();
    return Ok();
  }

  // A word is a field path, except where the anchor read it as a string: compared with a
  // field (`status == active`) and not rooted at data., event. or changes.
  Result<Operand> MakeOperand(const Token& token, bool bare_word_is_string) {
    Operand operand;
    switch (token.kind) {
      case TokenKind::kString: operand.literal = Literal::String(token.text); break;
      case TokenKind::kNumber: {
        auto number = ParseNumber(token.lexeme);
        if (!number) return ErrorAt(token.offset, "number " + Describe(token) + " is out of range");
        operand.literal = std::move(*number);
        break;
      }
      case TokenKind::kTrue: operand.literal = Literal::Bool(true); break;
      case TokenKind::kFalse: operand.literal = Literal::Bool(false); break;
      case TokenKind::kNull: break;
      default: {
        if (bare_word_is_string && !HasRootPrefix(token.lexeme)) {
          WarnBareWord(token);
          operand.literal = Literal::String(std::string(token.lexeme));
          break;
        }
        auto path = FieldPath::Parse(token.lexeme);
        if (!path) return ErrorAt(token.offset, path.error().message);
        operand.is_field = true;
        operand.path = std::move(*path);
      }
    }
    return operand;
  }

  void WarnBareWord(const Token& token) {
    const std::string word(token.lexeme);
    std::string message = "bare word '" + word + "' is compared as the string " +
                          QuoteString(word) + "; quote it to say so";
    if (!HasNumberSyntax(word) && FieldPath::Parse(word)) {
      message += ", or write data." + word + " to compare with that field";
    }
    warnings_->push_back(
        Diagnostic{Severity::kWarning, LocationOfOffset(source_, token.offset), message});
  }

  Result<NodePtr> ParseFunction() {
    const Token& name = Advance();
    Advance();  // '('
    const FunctionSpec* spec = FindFunction(name.lexeme);
    if (spec == nullptr) return UnknownFunction(name);
    std::vector<const Token*> arguments;
    if (Peek().kind == TokenKind::kRParen) {
      Advance();
    } else {
      while (true) {
        if (!IsOperandToken(Peek())) return Unexpected("an argument");
        arguments.push_back(&Advance());
        if (Peek().kind == TokenKind::kRParen) break;
        if (Peek().kind != TokenKind::kComma) return Unexpected("',' or ')'");
        Advance();
      }
      Advance();
    }
    if (arguments.size() != spec->arity) {
      return ErrorAt(name.offset,
                     std::string(name.lexeme) + " takes " +
                         (spec->arity == 1 ? "1 argument (a field path)"
                                           : "2 arguments (a field path and a value)") +
                         ", found " + std::to_string(arguments.size()));
    }
    auto node = std::make_unique<Node>();
    node->kind = NodeKind::kFunction;
    node->function = spec->function;
    FRAISEQL_ASSIGN_OR_RETURN(node->path, PathArgument(*arguments[0], name.lexeme, spec->function));
    if (spec->arity == 2) FRAISEQL_ASSIGN_OR_RETURN(node->value, ValueArgument(*arguments[1]));
    last_was_bare_operand_ = false;
    return node;
  }

  static const FunctionSpec* FindFunction(std::string_view name) {
    for (const FunctionSpec& spec : kFunctions) {
      if (EqualsIgnoreCase(name, spec.name)) return &spec;
    }
    return nullptr;
  }

  Error UnknownFunction(const Token& name) const {
    std::array<std::string_view, kFunctions.size()> names{};
    for (size_t i = 0; i < kFunctions.size(); ++i) names[i] = kFunctions[i].name;
    std::string message = "unknown function '" + std::string(name.lexeme) + "'";
    if (auto closest = ClosestMatch(name.lexeme, names)) {
      message += "; did you mean '" + *closest + "'?";
    } else {
      message += "; the functions are has_field, field_changed, field_changed_to, "
                 "field_changed_from (or HAS_FIELD, CHANGED, CHANGED_TO, CHANGED_FROM)";
    }
    return ErrorAt(name.offset, std::move(message));
  }

  // The path may be quoted ('status') or bare (status, data.status).
  Result<FieldPath> PathArgument(const Token& token, std::string_view function_name,
                                 Function function) const {
    std::string_view text;
    if (token.kind == TokenKind::kString) {
      text = token.text;
    } else if (token.kind == TokenKind::kWord) {
      text = token.lexeme;
    } else {
      return ErrorAt(token.offset, "the first argument of " + std::string(function_name) +
                                       " is a field path ('status' or status), found " +
                                       Describe(token));
    }
    auto path = FieldPath::Parse(text);
    if (!path) return ErrorAt(token.offset, path.error().message);
    if (function != Function::kHasField &&
        (path->root() != FieldPath::Root::kData || path->segments().empty())) {
      return ErrorAt(token.offset,
                     std::string(function_name) + " looks at data fields (the change set is "
                                                  "kept per data field); '" +
                         std::string(text) + "' is not one");
    }
    return std::move(*path);
  }

  // The value of field_changed_to/_from: text that also matches as a number (or as true,
  // false, null) when it reads as one, as the anchor JSON-parsed its quoted arguments.
  Result<ChangeValue> ValueArgument(const Token& token) const {
    ChangeValue value;
    switch (token.kind) {
      case TokenKind::kString:
        value.as_string = Literal::String(token.text);
        value.as_json = JsonKeyword(token.text);
        if (!value.as_json) value.as_json = ParseNumber(token.text);
        value.display = QuoteString(token.text);
        break;
      case TokenKind::kNumber:
        value.as_json = ParseNumber(token.lexeme);
        if (!value.as_json) {
          return ErrorAt(token.offset, "number " + Describe(token) + " is out of range");
        }
        value.as_string = Literal::String(std::string(token.lexeme));
        value.display = std::string(token.lexeme);
        break;
      case TokenKind::kWord:
        value.as_string = Literal::String(std::string(token.lexeme));
        value.display = QuoteString(token.lexeme);
        break;
      default: {  // TRUE, FALSE, NULL
        const std::string keyword = ToLowerAscii(token.lexeme);
        value.as_string = Literal::String(keyword);
        value.as_json = JsonKeyword(keyword);
        value.display = keyword;
      }
    }
    return value;
  }

  static std::optional<Literal> JsonKeyword(std::string_view text) {
    if (text == "true") return Literal::Bool(true);
    if (text == "false") return Literal::Bool(false);
    if (text == "null") return Literal::Null();
    return std::nullopt;
  }

  std::string_view source_;
  std::vector<Token> tokens_;
  std::vector<Diagnostic>* warnings_;
  size_t next_ = 0;
  const Token* previous_ = nullptr;
  int depth_ = 0;
  // The last primary was an operand alone (`deleted`): a comparison could have followed.
  bool last_was_bare_operand_ = false;
};

}  // namespace

Result<std::unique_ptr<Node>> Parse(std::string_view source, std::vector<Diagnostic>* warnings) {
  if (source.size() > kMaxConditionBytes) {
    return Error::InvalidArgument("condition is " + std::to_string(source.size()) +
                                  " bytes long; the limit is " +
                                  std::to_string(kMaxConditionBytes) + " bytes")
        .At(LocationOfOffset(source, kMaxConditionBytes));
  }
  return Parser(source, warnings).ParseCondition();
}

}  // namespace fraiseql::condition_internal
