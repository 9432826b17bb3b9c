// Condition: the operators and their aliases, precedence, literal forms, operands, bare words
// and the display form.

#include "condition/condition.h"

#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "condition_test_util.h"

namespace fraiseql {
namespace {

using condition_test::Eval;
using condition_test::EvalError;
using condition_test::MakeEvent;
using condition_test::MustCompile;
using nlohmann::json;

const EntityEvent& Order() {
  static const EntityEvent kOrder = MakeEvent(json{
      {"total", 150},
      {"status", "shipped"},
      {"priority", "low"},
      {"note", ""},
      {"deleted", false},
      {"flag", true},
      {"discount", nullptr},
      {"customer", {{"email", "a@example.com"}, {"name", "Ada"}}},
      {"items", json::array({{{"sku", "X1"}, {"qty", 2}}})},
  });
  return kOrder;
}

// The reference's examples (section 4.3) and the documented forms must compile.
TEST(ConditionCompileTest, CompilesEveryDocumentedExample) {
  const std::vector<std::string> examples = {
      "total > 100",
      "status == 'pending' || status == 'processing'",
      "(total > 100 && status == 'shipped') || priority == 'high'",
      "!has_field('deleted_at')",
      "field_changed_to('status', 'shipped') && total > 100",
      "field_changed('email')",
      "field_changed_from('total', '50')",
      "note == ''",
      "big == 9007199254740993",
      "data.status == 'shipped'",
      "status = 'active' AND NOT deleted",
      "CHANGED(status) AND CHANGED_TO(status, 'shipped')",
      "HAS_FIELD(email)",
      "event.entity_type IN ('Order', \"Invoice\")",
      "data.customer.email IS NOT NULL",
  };
  for (const std::string& example : examples) {
    auto condition = Condition::Compile(example);
    ASSERT_TRUE(condition.has_value()) << example << ": " << condition.error().message;
    EXPECT_EQ(condition->source(), example);
    EXPECT_TRUE(condition->warnings().empty()) << example;
  }
}

TEST(ConditionOperatorTest, DoubleAndSingleEqualsAreTheSame) {
  EXPECT_TRUE(Eval("status == 'shipped'", Order()));
  EXPECT_TRUE(Eval("status = 'shipped'", Order()));
  EXPECT_FALSE(Eval("status = 'pending'", Order()));
}

TEST(ConditionOperatorTest, BangEqualsAndAngleBracketsAreTheSame) {
  EXPECT_TRUE(Eval("status != 'pending'", Order()));
  EXPECT_TRUE(Eval("status <> 'pending'", Order()));
  EXPECT_FALSE(Eval("status <> 'shipped'", Order()));
}

TEST(ConditionOperatorTest, LessThan) {
  EXPECT_TRUE(Eval("total < 151", Order()));
  EXPECT_FALSE(Eval("total < 150", Order()));
}

TEST(ConditionOperatorTest, LessOrEqual) {
  EXPECT_TRUE(Eval("total <= 150", Order()));
  EXPECT_FALSE(Eval("total <= 149", Order()));
}

TEST(ConditionOperatorTest, GreaterThan) {
  EXPECT_TRUE(Eval("total > 149", Order()));
  EXPECT_FALSE(Eval("total > 150", Order()));
}

TEST(ConditionOperatorTest, GreaterOrEqual) {
  EXPECT_TRUE(Eval("total >= 150", Order()));
  EXPECT_FALSE(Eval("total >= 151", Order()));
}

TEST(ConditionOperatorTest, AndSpellings) {
  for (const char* op : {"&&", "AND", "and", "And"}) {
    EXPECT_TRUE(Eval(std::string("total > 100 ") + op + " status == 'shipped'", Order())) << op;
    EXPECT_FALSE(Eval(std::string("total > 100 ") + op + " status == 'pending'", Order())) << op;
  }
}

TEST(ConditionOperatorTest, OrSpellings) {
  for (const char* op : {"||", "OR", "or", "oR"}) {
    EXPECT_TRUE(Eval(std::string("total > 999 ") + op + " status == 'shipped'", Order())) << op;
    EXPECT_FALSE(Eval(std::string("total > 999 ") + op + " status == 'pending'", Order())) << op;
  }
}

TEST(ConditionOperatorTest, NotSpellings) {
  EXPECT_TRUE(Eval("!(total > 999)", Order()));
  EXPECT_TRUE(Eval("NOT total > 999", Order()));
  EXPECT_TRUE(Eval("not (total > 999)", Order()));
  EXPECT_FALSE(Eval("Not total > 100", Order()));
  EXPECT_TRUE(Eval("!!(total > 100)", Order()));
}

TEST(ConditionOperatorTest, NotBindsTighterThanAnd) {
  // (NOT false) AND false = false; NOT (false AND false) would be true.
  EXPECT_FALSE(Eval("NOT total > 999 AND status == 'pending'", Order()));
  EXPECT_EQ(MustCompile("NOT a == 1 AND b == 2").ToString(), "(!(a == 1)) && (b == 2)");
}

TEST(ConditionOperatorTest, AndBindsTighterThanOr) {
  // true OR (false AND false) = true; (true OR false) AND false would be false.
  EXPECT_TRUE(Eval("total > 100 || status == 'pending' && priority == 'high'", Order()));
  EXPECT_EQ(MustCompile("a == 1 || b == 2 && c == 3").ToString(),
            "(a == 1) || ((b == 2) && (c == 3))");
}

TEST(ConditionOperatorTest, ParenthesesOverridePrecedence) {
  EXPECT_FALSE(Eval("(total > 100 || status == 'pending') && priority == 'high'", Order()));
  EXPECT_TRUE(Eval("NOT (total > 999 AND status == 'shipped')", Order()));
  EXPECT_TRUE(Eval("((((total > 100))))", Order()));
}

TEST(ConditionOperatorTest, InMatchesAnyListedValue) {
  EXPECT_TRUE(Eval("status IN ('pending', 'shipped')", Order()));
  EXPECT_FALSE(Eval("status IN ('pending', 'cancelled')", Order()));
  EXPECT_TRUE(Eval("total in (1, 150, 'x')", Order()));
  EXPECT_TRUE(Eval("event.entity_type IN ('Order', \"Invoice\")", Order()));
}

TEST(ConditionOperatorTest, NotInIsTheNegationOfIn) {
  EXPECT_FALSE(Eval("status NOT IN ('pending', 'shipped')", Order()));
  EXPECT_TRUE(Eval("status not in ('pending', 'cancelled')", Order()));
  EXPECT_TRUE(Eval("missing NOT IN ('a')", Order()));
}

TEST(ConditionOperatorTest, IsNullAndIsNotNull) {
  EXPECT_TRUE(Eval("discount IS NULL", Order()));
  EXPECT_TRUE(Eval("missing IS NULL", Order()));
  EXPECT_FALSE(Eval("total IS NULL", Order()));
  EXPECT_TRUE(Eval("total is not null", Order()));
  EXPECT_FALSE(Eval("discount IS NOT NULL", Order()));
  EXPECT_TRUE(Eval("data.customer.email IS NOT NULL", Order()));
}

TEST(ConditionLiteralTest, SingleAndDoubleQuotedStrings) {
  EXPECT_TRUE(Eval("status == 'shipped'", Order()));
  EXPECT_TRUE(Eval("status == \"shipped\"", Order()));
  EXPECT_TRUE(Eval("note == ''", Order()));
  EXPECT_TRUE(Eval("note == \"\"", Order()));
}

TEST(ConditionLiteralTest, BackslashEscapes) {
  const EntityEvent event = MakeEvent(json{{"s", "a\\b'c\"d\ne\tf\rg/h"}});
  EXPECT_TRUE(Eval(R"(s == 'a\\b\'c"d\ne\tf\rg\/h')", event));
  EXPECT_TRUE(Eval(R"(s == "a\\b'c\"d\ne\tf\rg/h")", event));
}

TEST(ConditionLiteralTest, UnicodeEscapesBecomeUtf8) {
  EXPECT_TRUE(Eval(R"(name == 'caf\u00e9')", MakeEvent(json{{"name", "café"}})));
  EXPECT_TRUE(Eval(R"(name == '\u20AC')", MakeEvent(json{{"name", "€"}})));
  // A surrogate pair is one code point (U+1F600).
  EXPECT_TRUE(Eval(R"(name == '\uD83D\uDE00')", MakeEvent(json{{"name", "\xF0\x9F\x98\x80"}})));
}

TEST(ConditionLiteralTest, IntegersAndNegativeNumbers) {
  const EntityEvent event = MakeEvent(json{{"n", -5}, {"z", 0}});
  EXPECT_TRUE(Eval("n == -5", event));
  EXPECT_TRUE(Eval("n < -4", event));
  EXPECT_TRUE(Eval("n>-6", event));
  EXPECT_TRUE(Eval("z == -0", event));
}

TEST(ConditionLiteralTest, DecimalsAndExponents) {
  const EntityEvent event = MakeEvent(json{{"k", 1000}, {"r", 0.025}, {"p", 2.5}});
  EXPECT_TRUE(Eval("k == 1e3", event));
  EXPECT_TRUE(Eval("k == 1E+3", event));
  EXPECT_TRUE(Eval("k == 1000.0", event));
  EXPECT_TRUE(Eval("r == 2.5E-2", event));
  EXPECT_TRUE(Eval("p > 2.49 && p < 2.51", event));
}

TEST(ConditionLiteralTest, KeywordLiteralsIgnoreCase) {
  const EntityEvent event = MakeEvent(json{{"yes", true}, {"no", false}, {"nothing", nullptr}});
  EXPECT_TRUE(Eval("yes == true", event));
  EXPECT_TRUE(Eval("yes == TRUE", event));
  EXPECT_TRUE(Eval("no == False", event));
  EXPECT_TRUE(Eval("nothing == NULL", event));
  EXPECT_TRUE(Eval("nothing == null", event));
}

TEST(ConditionOperandTest, LiteralMayBeOnTheLeft) {
  EXPECT_TRUE(Eval("100 < total", Order()));
  EXPECT_TRUE(Eval("'shipped' == status", Order()));
  EXPECT_TRUE(Eval("1 == 1", Order()));
}

TEST(ConditionOperandTest, FieldsOnBothSides) {
  const EntityEvent event = MakeEvent(json{{"total", 150}, {"limit", 100}, {"copy", 150.0}});
  EXPECT_TRUE(Eval("total > data.limit", event));
  EXPECT_TRUE(Eval("total == data.copy", event));
  EXPECT_TRUE(Eval("data.total == data.copy", event));
}

TEST(ConditionOperandTest, NestedAndIndexedDataPaths) {
  EXPECT_TRUE(Eval("customer.email == 'a@example.com'", Order()));
  EXPECT_TRUE(Eval("data.customer.name == 'Ada'", Order()));
  EXPECT_TRUE(Eval("items.0.sku == 'X1' && data.items.0.qty == 2", Order()));
  EXPECT_TRUE(Eval("event.data.total == 150", Order()));
}

TEST(ConditionOperandTest, EventFields) {
  EntityEvent event = Order();
  event.event_type = EventKind::kUpdate;
  EXPECT_TRUE(Eval("event.event_type == 'UPDATE'", event));
  EXPECT_TRUE(Eval("event.entity_type == 'Order'", event));
  EXPECT_TRUE(Eval("event.entity_id == '00000000-0000-0000-0000-0000000000aa'", event));
  EXPECT_TRUE(Eval("event.tenant_id == '00000000-0000-0000-0000-0000000000bb'", event));
  EXPECT_TRUE(Eval("event.user_id IS NULL", event));
  event.user_id = "u1";
  EXPECT_TRUE(Eval("event.user_id == 'u1'", event));
}

TEST(ConditionOperandTest, ChangesPaths) {
  const EntityEvent event = condition_test::MakeUpdate(json{{"status", "pending"}},
                                                       json{{"status", "shipped"}});
  EXPECT_TRUE(Eval("changes.status.old == 'pending' && changes.status.new == 'shipped'", event));
  EXPECT_TRUE(Eval("changes.total IS NULL", event));
}

TEST(ConditionBareWordTest, BareWordComparedWithAFieldIsAStringWithAWarning) {
  Condition condition = MustCompile("status == active");
  ASSERT_EQ(condition.warnings().size(), 1u);
  const Diagnostic& warning = condition.warnings()[0];
  EXPECT_EQ(warning.severity, Severity::kWarning);
  EXPECT_EQ(warning.location.line, 1u);
  EXPECT_EQ(warning.location.column, 11u);
  EXPECT_NE(warning.message.find("'active'"), std::string::npos) << warning.message;
  EXPECT_NE(warning.message.find("quote"), std::string::npos) << warning.message;
  EXPECT_NE(warning.message.find("data.active"), std::string::npos) << warning.message;
  EXPECT_TRUE(*condition.Evaluate(MakeEvent(json{{"status", "active"}})));
  EXPECT_FALSE(
      *condition.Evaluate(MakeEvent(json{{"status", "inactive"}, {"active", "inactive"}})));
  EXPECT_EQ(condition.ToString(), "status == 'active'");
}

TEST(ConditionBareWordTest, RootedWordsAreFieldsWithoutWarning) {
  Condition condition = MustCompile("total == data.limit || kind == event.entity_type");
  EXPECT_TRUE(condition.warnings().empty());
  EXPECT_TRUE(*condition.Evaluate(MakeEvent(json{{"total", 3}, {"limit", 3}})));
  EXPECT_TRUE(*condition.Evaluate(MakeEvent(json{{"kind", "Order"}})));
}

TEST(ConditionBareWordTest, NonNumericRunsAreStrings) {
  // The anchor read any unquoted run that was not JSON as a string.
  Condition condition = MustCompile("version == 1.2.3 && day == 2024-01-01 && zip == 01234");
  EXPECT_EQ(condition.warnings().size(), 3u);
  EXPECT_TRUE(*condition.Evaluate(
      MakeEvent(json{{"version", "1.2.3"}, {"day", "2024-01-01"}, {"zip", "01234"}})));
}

TEST(ConditionBareWordTest, BareWordsInAnInListAreStrings) {
  Condition condition = MustCompile("status IN (pending, shipped)");
  ASSERT_EQ(condition.warnings().size(), 2u);
  EXPECT_EQ(condition.warnings()[1].location.column, 21u);
  EXPECT_TRUE(*condition.Evaluate(Order()));
}

TEST(ConditionBareWordTest, BareWordAfterALiteralIsAField) {
  Condition condition = MustCompile("100 < total");
  EXPECT_TRUE(condition.warnings().empty());
  EXPECT_TRUE(*condition.Evaluate(Order()));
}

TEST(ConditionBareWordTest, WarningsKeepTheirLineInMultiLineConditions) {
  Condition condition = MustCompile("total > 100\n  AND status == shipped");
  ASSERT_EQ(condition.warnings().size(), 1u);
  EXPECT_EQ(condition.warnings()[0].location.line, 2u);
  EXPECT_EQ(condition.warnings()[0].location.column, 17u);
}

TEST(ConditionBareWordTest, BooleanFieldAlone) {
  EXPECT_TRUE(Eval("flag", Order()));
  EXPECT_FALSE(Eval("deleted", Order()));
  EXPECT_TRUE(Eval("NOT deleted", Order()));
  EXPECT_FALSE(Eval("missing", Order()));
  EXPECT_FALSE(Eval("discount", Order()));
  EXPECT_TRUE(Eval("true", Order()));
  EXPECT_TRUE(Eval("status = 'shipped' AND NOT deleted", Order()));
}

TEST(ConditionBareWordTest, NonBooleanFieldAloneIsAnEvaluationError) {
  const Error error = EvalError("NOT status", Order());
  EXPECT_EQ(error.code, ErrorCode::kInvalidArgument);
  EXPECT_NE(error.message.find("status is a string ('shipped'), not a boolean"), std::string::npos)
      << error.message;
}

TEST(ConditionDisplayTest, ShowsExplicitParentheses) {
  EXPECT_EQ(MustCompile("total > 100 && status == 'shipped'").ToString(),
            "(total > 100) && (status == 'shipped')");
  EXPECT_EQ(MustCompile("(total > 100 && status == 'shipped') || priority == 'high'").ToString(),
            "((total > 100) && (status == 'shipped')) || (priority == 'high')");
  EXPECT_EQ(MustCompile("a == 1 AND b == 2 and c == 3").ToString(),
            "(a == 1) && (b == 2) && (c == 3)");
}

TEST(ConditionDisplayTest, UsesCanonicalSpellings) {
  EXPECT_EQ(MustCompile("status = \"x\" OR status <> 'y'").ToString(),
            "(status == 'x') || (status != 'y')");
  EXPECT_EQ(MustCompile("NOT HAS_FIELD(deleted_at)").ToString(), "!(has_field('deleted_at'))");
  EXPECT_EQ(MustCompile("CHANGED(status) AND CHANGED_TO(status, shipped)").ToString(),
            "(field_changed('status')) && (field_changed_to('status', 'shipped'))");
  EXPECT_EQ(MustCompile("Changed_From(total, 50.00)").ToString(),
            "field_changed_from('total', 50.00)");
  EXPECT_EQ(MustCompile("x not in (1, 'a', TRUE, Null)").ToString(),
            "x NOT IN (1, 'a', true, null)");
  EXPECT_EQ(MustCompile("x is not null").ToString(), "x IS NOT NULL");
  EXPECT_EQ(MustCompile("s == 'it\\'s\\n'").ToString(), "s == 'it\\'s\\n'");
  EXPECT_EQ(MustCompile("k == 1e3").ToString(), "k == 1e3");
  EXPECT_EQ(MustCompile("data.in == 1").ToString(), "data.in == 1");
}

TEST(ConditionDisplayTest, DisplayFormCompilesToTheSameCondition) {
  const std::vector<std::string> sources = {
      "(total > 100 && status == 'shipped') || priority == 'high'",
      "!has_field('deleted_at') and not (a < 1 or b >= 2.5e-3)",
      "CHANGED(status) AND CHANGED_TO(status, 'shipped') AND changed_from(total, 50)",
      "event.entity_type IN ('Order', \"Invoice\") && x not in (1, -2, true, null)",
      "status == active && s == 'tab\\there' && 'lit' == field && deleted",
      "data.customer.email IS NOT NULL || data.not == 1",
  };
  for (const std::string& source : sources) {
    const std::string display = MustCompile(source).ToString();
    EXPECT_EQ(MustCompile(display).ToString(), display) << source;
  }
}

TEST(ConditionObjectTest, DefaultConstructedConditionIsAnInternalError) {
  Condition condition;
  auto result = condition.Evaluate(Order());
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::kInternal);
  EXPECT_EQ(condition.ToString(), "");
}

TEST(ConditionObjectTest, CopiesShareTheCompiledTreeAcrossThreads) {
  const Condition original = MustCompile("total > 100 && status == 'shipped'");
  std::vector<std::thread> threads;
  std::vector<int> matches(4, 0);
  for (size_t t = 0; t < matches.size(); ++t) {
    threads.emplace_back([copy = original, &matches, t] {
      for (int i = 0; i < 1000; ++i) matches[t] += copy.Evaluate(Order()).value_or(false) ? 1 : 0;
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int count : matches) EXPECT_EQ(count, 1000);
}

}  // namespace
}  // namespace fraiseql
