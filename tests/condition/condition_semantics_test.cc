// Condition evaluation: null and missing fields, numeric-aware equality, ordering and its
// errors, the change functions on every event kind, and short-circuiting.

#include <string>

#include <gtest/gtest.h>

#include "condition/condition.h"
#include "condition_test_util.h"

namespace fraiseql {
namespace {

using condition_test::Eval;
using condition_test::EvalError;
using condition_test::MakeEvent;
using condition_test::MakeUpdate;
using nlohmann::json;

bool Contains(const std::string& text, std::string_view fragment) {
  return text.find(fragment) != std::string::npos;
}

// --- Rule 1: missing fields and has_field ---------------------------------------------------

TEST(ConditionNullTest, MissingFieldIsNull) {
  const EntityEvent event = MakeEvent(json{{"a", 1}});
  EXPECT_TRUE(Eval("missing == null", event));
  EXPECT_TRUE(Eval("missing != 'x'", event));
  EXPECT_FALSE(Eval("missing == 'x'", event));
  EXPECT_FALSE(Eval("missing == 0", event));
  EXPECT_TRUE(Eval("a.b.c IS NULL", event));
}

TEST(ConditionNullTest, NullEqualsNullAndNothingElse) {
  const EntityEvent event =
      MakeEvent(json{{"n", nullptr}, {"zero", 0}, {"empty", ""}, {"f", false}});
  EXPECT_TRUE(Eval("n == null", event));
  EXPECT_TRUE(Eval("n == data.missing_too", event));
  EXPECT_TRUE(Eval("null == null", event));
  EXPECT_TRUE(Eval("zero != null", event));
  EXPECT_TRUE(Eval("empty != null", event));
  EXPECT_TRUE(Eval("f != null", event));
  EXPECT_TRUE(Eval("n != 0 && n != '' && n != false", event));
}

TEST(ConditionHasFieldTest, TrueWhenThePathExists) {
  const EntityEvent event = MakeEvent(json{{"email", "x@y"}, {"customer", {{"email", "z"}}}});
  EXPECT_TRUE(Eval("has_field('email')", event));
  EXPECT_TRUE(Eval("has_field('customer.email')", event));
  EXPECT_TRUE(Eval("has_field('data.customer.email')", event));
  EXPECT_FALSE(Eval("has_field('deleted_at')", event));
  EXPECT_FALSE(Eval("has_field('customer.phone')", event));
  EXPECT_TRUE(Eval("!has_field('deleted_at')", event));
}

TEST(ConditionHasFieldTest, JsonNullCountsAsPresent) {
  const EntityEvent event = MakeEvent(json{{"deleted_at", nullptr}});
  EXPECT_TRUE(Eval("has_field('deleted_at')", event));
  EXPECT_TRUE(Eval("deleted_at IS NULL", event));
}

TEST(ConditionHasFieldTest, AliasesAndBarePaths) {
  const EntityEvent event = MakeEvent(json{{"email", "x@y"}});
  EXPECT_TRUE(Eval("HAS_FIELD(email)", event));
  EXPECT_TRUE(Eval("Has_Field(data.email)", event));
  EXPECT_TRUE(Eval("has_field(\"email\")", event));
  EXPECT_TRUE(Eval("has_field('event.entity_id')", event));
}

// --- Rule 2: equality -----------------------------------------------------------------------

TEST(ConditionEqualityTest, NumbersCompareByValueAcrossRepresentations) {
  const EntityEvent event = MakeEvent(json{{"total", 100}, {"price", 100.0}, {"half", 0.5}});
  EXPECT_TRUE(Eval("total == 100.00", event));
  EXPECT_TRUE(Eval("price == 100", event));
  EXPECT_TRUE(Eval("total == 1e2", event));
  EXPECT_TRUE(Eval("total == data.price", event));
  EXPECT_TRUE(Eval("half == 5e-1", event));
  EXPECT_TRUE(Eval("total != 100.5", event));
}

TEST(ConditionEqualityTest, IntegersAreExactBeyondTwoToThe53) {
  const EntityEvent event = MakeEvent(json{{"big", int64_t{9007199254740993}}});
  EXPECT_TRUE(Eval("big == 9007199254740993", event));
  EXPECT_FALSE(Eval("big == 9007199254740992", event));
  EXPECT_TRUE(Eval("big != 9007199254740992", event));
  // A double cannot hold 2^53 + 1, so no double equals it.
  EXPECT_FALSE(Eval("big == 9007199254740992.0", event));
  EXPECT_TRUE(Eval("big > 9007199254740992", event));
}

TEST(ConditionEqualityTest, SignedAndUnsignedIntegers) {
  const EntityEvent event = MakeEvent(json{{"u", uint64_t{18446744073709551615u}},
                                           {"i", int64_t{-1}},
                                           {"s", uint64_t{5}}});
  EXPECT_TRUE(Eval("u == 18446744073709551615", event));
  EXPECT_FALSE(Eval("u == -1", event));
  EXPECT_FALSE(Eval("i == 18446744073709551615", event));
  EXPECT_TRUE(Eval("s == 5", event));
  EXPECT_TRUE(Eval("u > 9223372036854775807", event));
  EXPECT_TRUE(Eval("data.i < data.s", event));
}

TEST(ConditionEqualityTest, AStringNeverEqualsANumber) {
  const EntityEvent event = MakeEvent(json{{"total", 100}, {"code", "100"}});
  EXPECT_FALSE(Eval("total == '100'", event));
  EXPECT_TRUE(Eval("total != '100'", event));
  EXPECT_FALSE(Eval("code == 100", event));
  EXPECT_TRUE(Eval("code == '100'", event));
  EXPECT_FALSE(Eval("'100' == 100", event));
}

TEST(ConditionEqualityTest, BooleansEqualBooleansOnly) {
  const EntityEvent event = MakeEvent(json{{"flag", true}, {"one", 1}});
  EXPECT_TRUE(Eval("flag == true", event));
  EXPECT_TRUE(Eval("flag != false", event));
  EXPECT_FALSE(Eval("flag == 1", event));
  EXPECT_FALSE(Eval("flag == 'true'", event));
  EXPECT_FALSE(Eval("one == true", event));
}

TEST(ConditionEqualityTest, ArraysAndObjectsUseJsonEquality) {
  const EntityEvent event = MakeEvent(json{{"tags", {"a", "b"}},
                                           {"same_tags", {"a", "b"}},
                                           {"other_tags", {"b", "a"}},
                                           {"customer", {{"id", 1}}},
                                           {"buyer", {{"id", 1}}}});
  EXPECT_TRUE(Eval("tags == data.same_tags", event));
  EXPECT_FALSE(Eval("tags == data.other_tags", event));
  EXPECT_TRUE(Eval("customer == data.buyer", event));
  EXPECT_FALSE(Eval("customer == data.tags", event));
  EXPECT_FALSE(Eval("tags == 'a'", event));
  EXPECT_TRUE(Eval("tags != 'a'", event));
}

TEST(ConditionEqualityTest, NotEqualsIsTheNegationOfEquals) {
  const EntityEvent event = MakeEvent(json{{"a", 1}, {"s", "x"}, {"n", nullptr}});
  for (const char* rhs : {"1", "1.0", "'1'", "null", "'x'", "true", "data.s", "data.n"}) {
    for (const char* lhs : {"a", "s", "n", "missing"}) {
      const std::string eq = std::string(lhs) + " == " + rhs;
      const std::string ne = std::string(lhs) + " != " + rhs;
      EXPECT_NE(Eval(eq, event), Eval(ne, event)) << eq;
    }
  }
}

// --- Rule 3: ordering -----------------------------------------------------------------------

TEST(ConditionOrderingTest, NumbersCompareNumerically) {
  const EntityEvent event = MakeEvent(json{{"total", 99.5}, {"count", 10}});
  EXPECT_TRUE(Eval("total < 100", event));
  EXPECT_TRUE(Eval("total > 99", event));
  EXPECT_TRUE(Eval("count > 9.99", event));
  EXPECT_TRUE(Eval("count >= 10.0", event));
  EXPECT_TRUE(Eval("count > 2", event));  // not "10" < "2" as text
}

TEST(ConditionOrderingTest, StringsCompareByBytes) {
  const EntityEvent event = MakeEvent(json{{"name", "Bob"}, {"word", "\xC3\xA9t\xC3\xA9"}});
  EXPECT_TRUE(Eval("name < 'a'", event));  // 'B' (0x42) < 'a' (0x61)
  EXPECT_TRUE(Eval("name > 'Alice'", event));
  EXPECT_TRUE(Eval("name >= 'Bob' && name <= 'Bob'", event));
  EXPECT_TRUE(Eval("word > 'z'", event));  // UTF-8 lead bytes sort after ASCII
}

TEST(ConditionOrderingTest, NullOrMissingMakesEveryOrderingFalse) {
  const EntityEvent event = MakeEvent(json{{"n", nullptr}});
  for (const char* op : {"<", "<=", ">", ">="}) {
    EXPECT_FALSE(Eval(std::string("n ") + op + " 1", event)) << op;
    EXPECT_FALSE(Eval(std::string("missing ") + op + " 'a'", event)) << op;
    EXPECT_FALSE(Eval(std::string("1 ") + op + " n", event)) << op;
    EXPECT_FALSE(Eval(std::string("n ") + op + " null", event)) << op;
  }
  EXPECT_TRUE(Eval("NOT (missing > 1)", event));
}

TEST(ConditionOrderingTest, NumberAgainstStringIsAnError) {
  const EntityEvent event = MakeEvent(json{{"total", 150}});
  const Error error = EvalError("total > 'abc'", event);
  EXPECT_EQ(error.code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(Contains(error.message, "cannot evaluate total > 'abc'")) << error.message;
  EXPECT_TRUE(Contains(error.message, "total is a number (150)")) << error.message;
  EXPECT_TRUE(Contains(error.message, "'abc' is a string")) << error.message;
  EXPECT_FALSE(error.location.has_value());
}

TEST(ConditionOrderingTest, StringFieldAgainstNumberIsAnError) {
  const Error error = EvalError("code <= 100", MakeEvent(json{{"code", "100"}}));
  EXPECT_EQ(error.code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(Contains(error.message, "code is a string ('100') and 100 is a number"))
      << error.message;
}

TEST(ConditionOrderingTest, BooleansArraysAndObjectsCannotBeOrdered) {
  const EntityEvent event =
      MakeEvent(json{{"flag", true}, {"tags", {"a"}}, {"customer", {{"id", 1}}}});
  Error error = EvalError("flag > false", event);
  EXPECT_EQ(error.code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(Contains(error.message, "flag is a boolean")) << error.message;
  error = EvalError("tags < 'b'", event);
  EXPECT_EQ(error.code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(Contains(error.message, "tags is an array")) << error.message;
  error = EvalError("customer >= 1", event);
  EXPECT_EQ(error.code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(Contains(error.message, "customer is an object")) << error.message;
}

TEST(ConditionOrderingTest, TimestampsCompareAsInstants) {
  EntityEvent event = MakeEvent(json::object());
  auto timestamp = ParseTimestamp("2026-11-29T12:00:00Z");
  ASSERT_TRUE(timestamp.has_value());
  event.timestamp = *timestamp;
  EXPECT_TRUE(Eval("event.timestamp > '2026-01-01T00:00:00Z'", event));
  EXPECT_TRUE(Eval("event.timestamp == '2026-11-29 13:00:00+01:00'", event));
  EXPECT_FALSE(Eval("event.timestamp < '2026-11-29T12:00:00Z'", event));
  EXPECT_EQ(EvalError("event.timestamp > 5", event).code, ErrorCode::kInvalidArgument);
}

// --- Rule 4: IN and IS NULL -----------------------------------------------------------------

TEST(ConditionInTest, UsesEquality) {
  const EntityEvent event = MakeEvent(json{{"total", 100.0}, {"code", "7"}, {"n", nullptr}});
  EXPECT_TRUE(Eval("total IN (1, 100, 5)", event));
  EXPECT_FALSE(Eval("total IN ('100')", event));
  EXPECT_FALSE(Eval("code IN (7, 8)", event));
  EXPECT_TRUE(Eval("code IN ('7', 8)", event));
  EXPECT_TRUE(Eval("n IN ('x', null)", event));
  EXPECT_TRUE(Eval("missing IN (null)", event));
}

// --- Rule 5: field_changed* -----------------------------------------------------------------

const json kBefore = {{"status", "pending"},
                      {"total", 50.00},
                      {"email", "old@x"},
                      {"customer", {{"email", "a@x"}, {"name", "Ada"}}}};

EntityEvent StatusShipped() {
  json after = kBefore;
  after["status"] = "shipped";
  after["total"] = 75;
  return MakeUpdate(kBefore, after);
}

TEST(ConditionChangedTest, FieldChangedOnUpdate) {
  const EntityEvent event = StatusShipped();
  EXPECT_TRUE(Eval("field_changed('status')", event));
  EXPECT_TRUE(Eval("field_changed('data.status')", event));
  EXPECT_TRUE(Eval("CHANGED(status)", event));
  EXPECT_FALSE(Eval("field_changed('email')", event));
  EXPECT_FALSE(Eval("changed(missing)", event));
}

TEST(ConditionChangedTest, FieldChangedToComparesTheNewValue) {
  const EntityEvent event = StatusShipped();
  EXPECT_TRUE(Eval("field_changed_to('status', 'shipped')", event));
  EXPECT_TRUE(Eval("CHANGED_TO(status, shipped)", event));
  EXPECT_TRUE(Eval("changed_to(status, \"shipped\")", event));
  EXPECT_FALSE(Eval("field_changed_to('status', 'pending')", event));
  EXPECT_TRUE(Eval("CHANGED(status) AND CHANGED_TO(status, 'shipped')", event));
  EXPECT_TRUE(Eval("field_changed_to('status', 'shipped') && total > 70", event));
}

TEST(ConditionChangedTest, FieldChangedFromComparesTheOldValue) {
  const EntityEvent event = StatusShipped();
  EXPECT_TRUE(Eval("field_changed_from('status', 'pending')", event));
  EXPECT_TRUE(Eval("CHANGED_FROM(status, pending)", event));
  EXPECT_FALSE(Eval("field_changed_from('status', 'shipped')", event));
}

TEST(ConditionChangedTest, NumericTextMatchesNumbers) {
  const EntityEvent event = StatusShipped();  // total: 50.00 -> 75
  EXPECT_TRUE(Eval("field_changed_from('total', '50')", event));
  EXPECT_TRUE(Eval("field_changed_from('total', 50)", event));
  EXPECT_TRUE(Eval("field_changed_from('total', '5e1')", event));
  EXPECT_TRUE(Eval("field_changed_to('total', '75.0')", event));
  EXPECT_TRUE(Eval("field_changed_to('total', 75)", event));
  EXPECT_FALSE(Eval("field_changed_to('total', '76')", event));
}

TEST(ConditionChangedTest, ValueMatchesAsStringToo) {
  const EntityEvent event = MakeUpdate(json{{"code", "007"}, {"ok", false}},
                                       json{{"code", "100"}, {"ok", true}});
  EXPECT_TRUE(Eval("field_changed_to('code', '100')", event));
  EXPECT_TRUE(Eval("field_changed_to('code', 100)", event));
  EXPECT_TRUE(Eval("field_changed_from('code', '007')", event));
  EXPECT_TRUE(Eval("field_changed_to('ok', true)", event));
  EXPECT_TRUE(Eval("field_changed_to('ok', 'true')", event));
  EXPECT_FALSE(Eval("field_changed_to('ok', 1)", event));
}

TEST(ConditionChangedTest, NullAndAddedFields) {
  const EntityEvent event = MakeUpdate(json{{"a", 1}}, json{{"a", nullptr}, {"b", 2}});
  EXPECT_TRUE(Eval("field_changed_to('a', null)", event));
  EXPECT_TRUE(Eval("field_changed('b')", event));
  EXPECT_TRUE(Eval("field_changed_from('b', null)", event));
}

TEST(ConditionChangedTest, NestedPathComparesBelowTheTopLevelKey) {
  json after = kBefore;
  after["customer"]["email"] = "b@x";
  const EntityEvent event = MakeUpdate(kBefore, after);
  EXPECT_TRUE(Eval("field_changed('customer')", event));
  EXPECT_TRUE(Eval("field_changed('customer.email')", event));
  EXPECT_FALSE(Eval("field_changed('customer.name')", event));
  EXPECT_FALSE(Eval("field_changed('customer.phone')", event));
  EXPECT_TRUE(Eval("field_changed_to('customer.email', 'b@x')", event));
  EXPECT_TRUE(Eval("field_changed_from('data.customer.email', 'a@x')", event));
  EXPECT_FALSE(Eval("field_changed_to('customer.name', 'Ada')", event));
}

TEST(ConditionChangedTest, NestedPathAppearingCountsAsChanged) {
  const EntityEvent event =
      MakeUpdate(json{{"customer", {{"name", "Ada"}}}},
                 json{{"customer", {{"name", "Ada"}, {"phone", nullptr}}}});
  EXPECT_TRUE(Eval("field_changed('customer.phone')", event));
  EXPECT_FALSE(Eval("field_changed('customer.name')", event));
}

TEST(ConditionChangedTest, FalseOnInsertDeleteAndCustom) {
  for (EventKind kind : {EventKind::kInsert, EventKind::kDelete, EventKind::kCustom}) {
    // Even with a change set present, only an UPDATE changes fields.
    for (const json& changes : {json(nullptr), StatusShipped().changes}) {
      const EntityEvent event = MakeEvent(kBefore, kind, changes);
      EXPECT_FALSE(Eval("field_changed('status')", event)) << EventKindName(kind);
      EXPECT_FALSE(Eval("field_changed_to('status', 'shipped')", event)) << EventKindName(kind);
      EXPECT_FALSE(Eval("field_changed_from('status', 'pending')", event)) << EventKindName(kind);
    }
  }
}

TEST(ConditionChangedTest, UpdateWithoutBeforeImageIsAFailedPrecondition) {
  const EntityEvent event = MakeEvent(kBefore, EventKind::kUpdate);  // changes: null
  for (const char* source : {"field_changed('status')", "CHANGED_TO(status, 'shipped')",
                             "field_changed_from('total', '50')"}) {
    const Error error = EvalError(source, event);
    EXPECT_EQ(error.code, ErrorCode::kFailedPrecondition) << source;
    EXPECT_TRUE(Contains(error.message, "before-image")) << error.message;
    EXPECT_TRUE(Contains(error.message, "attach --pre-image")) << error.message;
    EXPECT_TRUE(Contains(error.message, "object_data_before")) << error.message;
  }
  EXPECT_TRUE(Contains(EvalError("CHANGED_TO(status, 'shipped')", event).message,
                       "field_changed_to('status', 'shipped')"));
}

TEST(ConditionChangedTest, HasFieldNeedsNoBeforeImage) {
  const EntityEvent event = MakeEvent(kBefore, EventKind::kUpdate);
  EXPECT_TRUE(Eval("has_field('status')", event));
}

// --- Rule 6: short-circuit ------------------------------------------------------------------

TEST(ConditionShortCircuitTest, AndStopsAtTheFirstFalse) {
  const EntityEvent event = MakeEvent(json{{"total", 150}});
  EXPECT_FALSE(Eval("total < 100 && total > 'abc'", event));
  EXPECT_FALSE(Eval("total < 100 AND (total > 'abc' OR total > 'def')", event));
}

TEST(ConditionShortCircuitTest, OrStopsAtTheFirstTrue) {
  const EntityEvent event = MakeEvent(json{{"total", 150}});
  EXPECT_TRUE(Eval("total > 100 || total > 'abc'", event));
  EXPECT_TRUE(Eval("total > 1 OR total > 2 OR total > 'abc'", event));
}

TEST(ConditionShortCircuitTest, RightSideErrorsWhenTheLeftDoesNotDecide) {
  const EntityEvent event = MakeEvent(json{{"total", 150}});
  EXPECT_EQ(EvalError("total > 100 && total > 'abc'", event).code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(EvalError("total < 100 || total > 'abc'", event).code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(EvalError("NOT (total > 'abc')", event).code, ErrorCode::kInvalidArgument);
}

TEST(ConditionShortCircuitTest, GuardsAFieldChangedOnEventsWithoutBeforeImage) {
  const EntityEvent update = MakeEvent(kBefore, EventKind::kUpdate);
  EXPECT_TRUE(Eval("has_field('status') || field_changed('status')", update));
  EXPECT_FALSE(Eval("event.changes IS NOT NULL && field_changed('status')", update));
  EXPECT_EQ(EvalError("has_field('status') && field_changed('status')", update).code,
            ErrorCode::kFailedPrecondition);
}

}  // namespace
}  // namespace fraiseql
