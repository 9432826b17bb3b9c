#include "condition/lexer.h"

#include <array>
#include <cstdio>
#include <optional>
#include <utility>

#include "common/text.h"

namespace fraiseql::condition_internal {
namespace {

// Field paths allow '-' inside names (FieldPath's grammar) and '.' between segments; the
// anchor read unquoted values as runs of the same characters.
bool IsWordChar(char c) { return IsAsciiAlpha(c) || IsAsciiDigit(c) || c == '_' || c == '.' || c == '-'; }

std::optional<int> HexValue(char c) {
  if (IsAsciiDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return std::nullopt;
}

void AppendUtf8(uint32_t code_point, std::string* out) {
  auto byte = [out](uint32_t value) { out->push_back(static_cast<char>(value)); };
  if (code_point < 0x80) {
    byte(code_point);
  } else if (code_point < 0x800) {
    byte(0xC0 | (code_point >> 6));
    byte(0x80 | (code_point & 0x3F));
  } else if (code_point < 0x10000) {
    byte(0xE0 | (code_point >> 12));
    byte(0x80 | ((code_point >> 6) & 0x3F));
    byte(0x80 | (code_point & 0x3F));
  } else {
    byte(0xF0 | (code_point >> 18));
    byte(0x80 | ((code_point >> 12) & 0x3F));
    byte(0x80 | ((code_point >> 6) & 0x3F));
    byte(0x80 | (code_point & 0x3F));
  }
}

struct Keyword {
  std::string_view name;
  TokenKind kind;
};
constexpr std::array<Keyword, 8> kKeywords = {{
    {"AND", TokenKind::kAnd},
    {"OR", TokenKind::kOr},
    {"NOT", TokenKind::kNot},
    {"IN", TokenKind::kIn},
    {"IS", TokenKind::kIs},
    {"NULL", TokenKind::kNull},
    {"TRUE", TokenKind::kTrue},
    {"FALSE", TokenKind::kFalse},
}};

class Lexer {
 public:
  explicit Lexer(std::string_view source) : source_(source) {}

  std::vector<Token> Run() {
    while (true) {
      while (pos_ < source_.size() && IsAsciiSpace(source_[pos_])) ++pos_;
      if (pos_ >= source_.size()) {
        Emit(TokenKind::kEnd, pos_, 0);
        break;
      }
      if (!LexToken()) break;
    }
    return std::move(tokens_);
  }

 private:
  char At(size_t index) const { return index < source_.size() ? source_[index] : '\0'; }

  Token& Emit(TokenKind kind, size_t offset, size_t length) {
    Token token;
    token.kind = kind;
    token.offset = offset;
    token.lexeme = source_.substr(offset, length);
    tokens_.push_back(std::move(token));
    pos_ = offset + length;
    return tokens_.back();
  }

  void EmitCompare(CompareOp op, size_t length) { Emit(TokenKind::kCompare, pos_, length).op = op; }

  // Always returns false: lexing stops at the first error.
  bool Fail(size_t offset, std::string message) {
    Token token;
    token.kind = TokenKind::kError;
    token.offset = offset;
    token.lexeme = source_.substr(offset, 1);
    token.text = std::move(message);
    tokens_.push_back(std::move(token));
    return false;
  }

  // Lexes the token at pos_; false after an error.
  bool LexToken() {
    const char c = source_[pos_];
    const char next = At(pos_ + 1);
    switch (c) {
      case '(': Emit(TokenKind::kLParen, pos_, 1); return true;
      case ')': Emit(TokenKind::kRParen, pos_, 1); return true;
      case ',': Emit(TokenKind::kComma, pos_, 1); return true;
      case '\'':
      case '"': return LexString();
      case '&':
        if (next != '&') return Fail(pos_, "single '&' is not an operator; use '&&' or AND");
        Emit(TokenKind::kAnd, pos_, 2);
        return true;
      case '|':
        if (next != '|') return Fail(pos_, "single '|' is not an operator; use '||' or OR");
        Emit(TokenKind::kOr, pos_, 2);
        return true;
      case '=': EmitCompare(CompareOp::kEq, next == '=' ? 2 : 1); return true;
      case '!':
        if (next == '=') {
          EmitCompare(CompareOp::kNe, 2);
        } else {
          Emit(TokenKind::kNot, pos_, 1);
        }
        return true;
      case '<':
        if (next == '=') {
          EmitCompare(CompareOp::kLe, 2);
        } else if (next == '>') {
          EmitCompare(CompareOp::kNe, 2);
        } else {
          EmitCompare(CompareOp::kLt, 1);
        }
        return true;
      case '>':
        EmitCompare(next == '=' ? CompareOp::kGe : CompareOp::kGt, next == '=' ? 2 : 1);
        return true;
      default: break;
    }
    if (IsAsciiAlpha(c) || c == '_') return LexWord();
    if (IsAsciiDigit(c) || ((c == '-' || c == '.') && IsAsciiDigit(next))) return LexValueRun();
    return Fail(pos_, UnexpectedCharacter(c));
  }

  static std::string UnexpectedCharacter(char c) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7F) return std::string("unexpected character '") + c + "'";
    std::array<char, 8> hex{};
    std::snprintf(hex.data(), hex.size(), "0x%02X", static_cast<unsigned>(byte));
    return std::string("unexpected byte ") + hex.data() +
           " (names and operators are ASCII; quote other text)";
  }

  bool LexWord() {
    size_t end = pos_;
    while (end < source_.size() && IsWordChar(source_[end])) ++end;
    const std::string_view word = source_.substr(pos_, end - pos_);
    for (const Keyword& keyword : kKeywords) {
      if (EqualsIgnoreCase(word, keyword.name)) {
        Emit(keyword.kind, pos_, word.size());
        return true;
      }
    }
    Emit(TokenKind::kWord, pos_, word.size());
    return true;
  }

  // A run that starts like a number: a number when it has number syntax, else a bare word
  // (the anchor read `1.2.3` or `2024-01-01` as strings). '+' belongs to the run only as an
  // exponent sign (1e+3).
  bool LexValueRun() {
    size_t end = pos_ + 1;
    while (end < source_.size()) {
      const char c = source_[end];
      const char before = source_[end - 1];
      if (!IsWordChar(c) && !(c == '+' && (before == 'e' || before == 'E'))) break;
      ++end;
    }
    const std::string_view run = source_.substr(pos_, end - pos_);
    Emit(HasNumberSyntax(run) ? TokenKind::kNumber : TokenKind::kWord, pos_, run.size());
    return true;
  }

  bool LexString() {
    const size_t start = pos_;
    const char quote = source_[pos_];
    std::string value;
    size_t i = pos_ + 1;
    while (i < source_.size()) {
      const char c = source_[i];
      if (c == quote) {
        Emit(TokenKind::kString, start, i + 1 - start).text = std::move(value);
        return true;
      }
      if (c != '\\') {
        value.push_back(c);
        ++i;
        continue;
      }
      if (i + 1 >= source_.size()) break;
      std::optional<size_t> after = LexEscape(i, &value);
      if (!after) return false;
      i = *after;
    }
    return Fail(start, std::string("unterminated string: no closing ") + quote + " for the " +
                           (quote == '\'' ? "quote" : "double quote") + " opened here");
  }

  // Decodes the escape whose backslash is at `at`; the offset after it, or nullopt on error.
  std::optional<size_t> LexEscape(size_t at, std::string* value) {
    const char c = source_[at + 1];
    switch (c) {
      case '\\':
      case '\'':
      case '"':
      case '/': value->push_back(c); return at + 2;
      case 'n': value->push_back('\n'); return at + 2;
      case 't': value->push_back('\t'); return at + 2;
      case 'r': value->push_back('\r'); return at + 2;
      case 'b': value->push_back('\b'); return at + 2;
      case 'f': value->push_back('\f'); return at + 2;
      case 'u': return LexUnicodeEscape(at, value);
      default: break;
    }
    Fail(at, std::string("unknown escape '\\") + c +
                 "' in string; the escapes are \\\\ \\' \\\" \\/ \\n \\t \\r \\b \\f and \\uXXXX");
    return std::nullopt;
  }

  std::optional<uint32_t> Hex4(size_t at) const {
    uint32_t code = 0;
    for (size_t k = 0; k < 4; ++k) {
      auto digit = HexValue(At(at + k));  // At() is '\0' past the end
      if (!digit) return std::nullopt;
      code = code * 16 + static_cast<uint32_t>(*digit);
    }
    return code;
  }

  // \uXXXX, with a UTF-16 surrogate pair (\uD83D\uDE00) making one code point.
  std::optional<size_t> LexUnicodeEscape(size_t at, std::string* value) {
    auto code = Hex4(at + 2);
    if (!code) {
      Fail(at, "expected four hexadecimal digits after '\\u'");
      return std::nullopt;
    }
    size_t end = at + 6;
    uint32_t code_point = *code;
    if (code_point >= 0xDC00 && code_point <= 0xDFFF) {
      Fail(at, "invalid '\\u' escape: a low surrogate (\\uDC00-\\uDFFF) must follow a high one");
      return std::nullopt;
    }
    if (code_point >= 0xD800 && code_point <= 0xDBFF) {
      std::optional<uint32_t> low;
      if (At(end) == '\\' && At(end + 1) == 'u') low = Hex4(end + 2);
      if (!low || *low < 0xDC00 || *low > 0xDFFF) {
        Fail(at, "invalid '\\u' escape: a high surrogate (\\uD800-\\uDBFF) must be followed by "
                 "a low one (\\uDC00-\\uDFFF)");
        return std::nullopt;
      }
      code_point = 0x10000 + ((code_point - 0xD800) << 10) + (*low - 0xDC00);
      end += 6;
    }
    AppendUtf8(code_point, value);
    return end;
  }

  std::string_view source_;
  size_t pos_ = 0;
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> Lex(std::string_view source) { return Lexer(source).Run(); }

bool IsReservedWord(std::string_view word) {
  for (const Keyword& keyword : kKeywords) {
    if (EqualsIgnoreCase(word, keyword.name)) return true;
  }
  return false;
}

}  // namespace fraiseql::condition_internal
