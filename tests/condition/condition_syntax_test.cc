// Condition compile errors: what was expected, what was found, and the exact line and column
// inside the condition; and the size and nesting limits.

#include <string>

#include <gtest/gtest.h>

#include "condition/condition.h"
#include "condition_test_util.h"

namespace fraiseql {
namespace {

using condition_test::CompileError;
using condition_test::MustCompile;

// Asserts the code, a message fragment and the location of a compile error.
void ExpectSyntaxError(std::string_view source, std::string_view fragment, uint32_t line,
                       uint32_t column) {
  SCOPED_TRACE(std::string(source));
  const Error error = CompileError(source);
  EXPECT_EQ(error.code, ErrorCode::kInvalidArgument);
  EXPECT_NE(error.message.find(fragment), std::string::npos) << error.message;
  ASSERT_TRUE(error.location.has_value());
  EXPECT_EQ(error.location->file, "");
  EXPECT_EQ(error.location->line, line);
  EXPECT_EQ(error.location->column, column);
}

TEST(ConditionSyntaxTest, EmptyConditionIsAnError) {
  ExpectSyntaxError("", "empty condition", 1, 1);
  ExpectSyntaxError(" \t\n  ", "empty condition", 1, 1);
}

TEST(ConditionSyntaxTest, MissingOperandAfterAnd) {
  ExpectSyntaxError("total > 100 &&", "expected an operand after '&&', found end of input", 1, 15);
  ExpectSyntaxError("total > 100 AND ", "expected an operand after 'AND', found end of input", 1,
                    17);
}

TEST(ConditionSyntaxTest, MissingOperandAfterComparison) {
  ExpectSyntaxError("total >", "expected an operand after '>', found end of input", 1, 8);
  ExpectSyntaxError("total == )", "expected an operand after '==', found ')'", 1, 10);
}

TEST(ConditionSyntaxTest, OperatorWithoutLeftOperand) {
  ExpectSyntaxError("== 5", "expected an operand, found '=='", 1, 1);
  ExpectSyntaxError("&& a", "expected an operand, found '&&'", 1, 1);
}

TEST(ConditionSyntaxTest, UnterminatedStringPointsAtTheOpeningQuote) {
  ExpectSyntaxError("status == 'shipped", "unterminated string", 1, 11);
  ExpectSyntaxError("a == 1 ||\n b == \"open", "unterminated string", 2, 7);
  ExpectSyntaxError("s == 'ends with backslash\\", "unterminated string", 1, 6);
}

TEST(ConditionSyntaxTest, SingleAmpersandOrPipe) {
  ExpectSyntaxError("a == 1 & b == 2", "single '&' is not an operator; use '&&' or AND", 1, 8);
  ExpectSyntaxError("a == 1 | b == 2", "single '|' is not an operator; use '||' or OR", 1, 8);
}

TEST(ConditionSyntaxTest, BadEscapes) {
  ExpectSyntaxError("s == 'a\\qb'", "unknown escape '\\q'", 1, 8);
  ExpectSyntaxError("s == '\\u12G4'", "four hexadecimal digits after '\\u'", 1, 7);
  ExpectSyntaxError("s == '\\uD800'", "high surrogate", 1, 7);
  ExpectSyntaxError("s == '\\uDC00'", "low surrogate", 1, 7);
}

TEST(ConditionSyntaxTest, UnexpectedCharacters) {
  ExpectSyntaxError("a ~ 1", "unexpected character '~'", 1, 3);
  ExpectSyntaxError("a == 1 && \xC3\xA9", "unexpected byte 0xC3", 1, 11);
  ExpectSyntaxError("a == -x", "unexpected character '-'", 1, 6);
}

TEST(ConditionSyntaxTest, EarlierSyntaxErrorWinsOverLaterLexicalError) {
  ExpectSyntaxError("a == == 1 & 2", "expected an operand after '==', found '=='", 1, 6);
}

TEST(ConditionSyntaxTest, ErrorsInMultiLineConditions) {
  ExpectSyntaxError("total > 100\n  && status == 'shipped'\n  && (priority == 'high'",
                    "expected ')' to close the '(' at 3:6 after 'high', found end of input", 3, 25);
  ExpectSyntaxError("a == 1 AND\n\n    b == ", "expected an operand after '=='", 3, 10);
  ExpectSyntaxError("a == 1\nOR b ~= 2", "unexpected character '~'", 2, 6);
}

TEST(ConditionSyntaxTest, UnbalancedParentheses) {
  ExpectSyntaxError("(a == 1", "expected ')' to close the '(' at 1:1 after 1, found end of input",
                    1, 8);
  ExpectSyntaxError("(a == 1 b",
                    "expected AND, OR or ')' to close the '(' at 1:1 after 1, found 'b'", 1, 9);
  ExpectSyntaxError("a == 1)", "unmatched ')'", 1, 7);
  ExpectSyntaxError("()", "expected an operand after '(', found ')'", 1, 2);
}

TEST(ConditionSyntaxTest, TrailingTokens) {
  ExpectSyntaxError("status 'x'",
                    "expected a comparison operator, AND, OR or end of input after 'status', "
                    "found 'x'",
                    1, 8);
  ExpectSyntaxError("a == b == c", "expected AND, OR or end of input after 'b', found '=='", 1, 8);
}

TEST(ConditionSyntaxTest, LiteralAloneIsNotACondition) {
  ExpectSyntaxError("'abc'", "expected a comparison operator (==, !=, <, <=, >, >=, IN or IS)", 1,
                    6);
  ExpectSyntaxError("a == 1 || 5", "expected a comparison operator", 1, 12);
}

TEST(ConditionSyntaxTest, IsAndInErrors) {
  ExpectSyntaxError("x IS 5", "expected NULL or NOT NULL after 'IS', found 5", 1, 6);
  ExpectSyntaxError("x IS NOT 'a'", "expected NULL after 'NOT'", 1, 10);
  ExpectSyntaxError("x NOT 5", "expected IN after 'NOT', found 5", 1, 7);
  ExpectSyntaxError("x IN ()", "an IN list needs at least one value", 1, 7);
  ExpectSyntaxError("x IN 'a'", "expected '(' to open the list of values after 'IN'", 1, 6);
  ExpectSyntaxError("x IN ('a' 'b')", "expected ',' or ')' after 'a', found 'b'", 1, 11);
  ExpectSyntaxError("x IN ('a',)", "expected a value after ',', found ')'", 1, 11);
}

TEST(ConditionSyntaxTest, BadNumbersAndPaths) {
  ExpectSyntaxError("n == 1e999", "number 1e999 is out of range", 1, 6);
  ExpectSyntaxError("a..b == 1", "invalid field path 'a..b'", 1, 1);
  ExpectSyntaxError("event.nope == 1", "unknown event field 'nope'", 1, 1);
}

TEST(ConditionFunctionSyntaxTest, UnknownFunctionSuggestsTheClosestName) {
  ExpectSyntaxError("has_feild('x')", "unknown function 'has_feild'; did you mean 'has_field'?", 1,
                    1);
  ExpectSyntaxError("a == 1 && CHANGE_TO(status, 'x')",
                    "unknown function 'CHANGE_TO'; did you mean 'changed_to'?", 1, 11);
  ExpectSyntaxError("frobnicate(x)", "unknown function 'frobnicate'; the functions are", 1, 1);
}

TEST(ConditionFunctionSyntaxTest, WrongArity) {
  ExpectSyntaxError("field_changed_to('status')",
                    "field_changed_to takes 2 arguments (a field path and a value), found 1", 1, 1);
  ExpectSyntaxError("a == 1 || has_field()", "has_field takes 1 argument (a field path), found 0",
                    1, 11);
  ExpectSyntaxError("HAS_FIELD(a, b)", "HAS_FIELD takes 1 argument", 1, 1);
}

TEST(ConditionFunctionSyntaxTest, BadArguments) {
  ExpectSyntaxError("has_field(5)", "the first argument of has_field is a field path", 1, 11);
  ExpectSyntaxError("field_changed('event.tenant_id')", "looks at data fields", 1, 15);
  ExpectSyntaxError("has_field('a b')", "invalid field path 'a b'", 1, 11);
  ExpectSyntaxError("changed_to(status 'x')", "expected ',' or ')' after 'status', found 'x'", 1,
                    19);
  ExpectSyntaxError("has_field('x'", "expected ',' or ')'", 1, 14);
}

TEST(ConditionLimitTest, SourceOf4096BytesCompiles) {
  std::string source = "s == '" + std::string(kMaxConditionBytes - 7, 'x') + "'";
  ASSERT_EQ(source.size(), kMaxConditionBytes);
  MustCompile(source);
}

TEST(ConditionLimitTest, SourceOf4097BytesIsRejected) {
  std::string source = "s == '" + std::string(kMaxConditionBytes - 6, 'x') + "'";
  ASSERT_EQ(source.size(), kMaxConditionBytes + 1);
  ExpectSyntaxError(source, "condition is 4097 bytes long; the limit is 4096 bytes", 1, 4097);
}

std::string Nested(int depth, std::string_view open, std::string_view inner,
                   std::string_view close) {
  std::string source;
  for (int i = 0; i < depth; ++i) source += open;
  source += inner;
  for (int i = 0; i < depth; ++i) source += close;
  return source;
}

TEST(ConditionLimitTest, SixtyFourParenthesesCompileAndSixtyFiveDoNot) {
  EXPECT_EQ(*MustCompile(Nested(64, "(", "a == 1", ")"))
                 .Evaluate(condition_test::MakeEvent({{"a", 1}})),
            true);
  ExpectSyntaxError(Nested(65, "(", "a == 1", ")"),
                    "nesting is deeper than 64 levels (parentheses and NOT)", 1, 65);
}

TEST(ConditionLimitTest, SixtyFourNotsCompileAndSixtyFiveDoNot) {
  EXPECT_EQ(*MustCompile(Nested(64, "!", "flag", ""))
                 .Evaluate(condition_test::MakeEvent({{"flag", true}})),
            true);
  ExpectSyntaxError(Nested(65, "NOT ", "flag", ""), "nesting is deeper than 64 levels", 1, 257);
}

TEST(ConditionLimitTest, ParenthesesAndNotCountTogether) {
  MustCompile(Nested(32, "!(", "a == 1", ")"));
  ExpectSyntaxError("!" + Nested(32, "!(", "a == 1", ")"), "nesting is deeper than 64 levels", 1,
                    65);
}

TEST(ConditionSyntaxTest, AcceptsEveryAnchorOperatorWithoutSpaces) {
  for (const char* source : {"a==1", "a!=1", "a<1", "a<=1", "a>1", "a>=1", "a=1", "a<>1",
                             "a==1&&b==2||!c", "(a==1)&&(b<'x')"}) {
    EXPECT_TRUE(Condition::Compile(source).has_value()) << source;
  }
}

}  // namespace
}  // namespace fraiseql
