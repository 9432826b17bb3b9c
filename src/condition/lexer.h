// The condition lexer: splits source text into tokens (operators, keywords, literals, words),
// decoding string escapes, so the parser never looks at characters.
// Thread-safety: pure function.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "condition/ast.h"

namespace fraiseql::condition_internal {

enum class TokenKind : uint8_t {
  kEnd,
  kError,  // a lexical error: `text` is the message, `offset` where it is
  kLParen,
  kRParen,
  kComma,
  kAnd,      // && AND
  kOr,       // || OR
  kNot,      // ! NOT
  kCompare,  // == = != <> < <= > >=
  kIn,
  kIs,
  kNull,
  kTrue,
  kFalse,
  kString,  // 'single' or "double" quoted; `text` is the decoded value
  kNumber,  // JSON number syntax
  // A run of name characters: a field path (status, data.customer.email, items.0) or, after a
  // comparison, a bare value the anchor accepted unquoted (active, 1.2.3, 2024-01-01).
  kWord,
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  size_t offset = 0;        // first byte of the token in the source
  std::string_view lexeme;  // the source text of the token
  std::string text;         // kString: decoded value; kError: the message
  CompareOp op = CompareOp::kEq;  // kCompare
};

// Tokens of `source`, ending with kEnd, or with kError at the first lexical error (characters
// after it are not read, so the parser reports any earlier syntax error first).
std::vector<Token> Lex(std::string_view source);

// True for the keywords (AND OR NOT IN IS NULL TRUE FALSE), in any case: such a word is never
// read as a field name.
bool IsReservedWord(std::string_view word);

}  // namespace fraiseql::condition_internal
