// Tests for templates: placeholder syntax, path roots, the three renderings' value encodings,
// JSON-body fallback, unresolved and invalid placeholders.
#include "template/template.h"
#include "testing/event_builder.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace fraiseql {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using json = nlohmann::json;

EntityEvent OrderEvent() {
  return testing::MakeOrderUpdate(json::parse(R"({
    "id": "ord-1001", "total": 150, "status": "shipped", "customer_id": "c-42",
    "customer": {"email": "ann@example.com", "name": "Ann"},
    "items": [{"sku": "SKU-1", "qty": 2}, {"sku": "SKU-2", "qty": 1}],
    "paid": true, "note": null, "price": 12.5
  })"),
                                  json::parse(R"({"status": {"old": "pending", "new": "shipped"}})"));
}

// An event whose data holds one field, `v`.
EntityEvent EventWithValue(json value) {
  EntityEvent event = OrderEvent();
  event.data = json::object({{"v", std::move(value)}});
  return event;
}

std::string Text(std::string_view source, const EntityEvent& event = OrderEvent()) {
  return Template::Compile(source).RenderText(event).text;
}
std::string Glob(std::string_view source, const EntityEvent& event = OrderEvent()) {
  return Template::Compile(source).RenderGlobEscaped(event).text;
}
RenderResult JsonBody(std::string_view source, const EntityEvent& event = OrderEvent()) {
  return Template::Compile(source).RenderJsonBody(event);
}

// --- Syntax -----------------------------------------------------------------------------

TEST(TemplateSyntaxTest, NoPlaceholdersRendersSourceVerbatim) {
  Template tmpl = Template::Compile("plain text, no braces");
  EXPECT_FALSE(tmpl.has_placeholders());
  EXPECT_EQ(tmpl.source(), "plain text, no braces");
  EXPECT_EQ(tmpl.RenderText(OrderEvent()).text, "plain text, no braces");
  EXPECT_THAT(tmpl.invalid_placeholders(), IsEmpty());
}

TEST(TemplateSyntaxTest, EmptySourceRendersEmpty) {
  Template tmpl = Template::Compile("");
  EXPECT_FALSE(tmpl.has_placeholders());
  EXPECT_EQ(tmpl.RenderText(OrderEvent()).text, "");
}

TEST(TemplateSyntaxTest, PlaceholderWithoutWhitespace) {
  EXPECT_EQ(Text("id={{data.id}}"), "id=ord-1001");
}

TEST(TemplateSyntaxTest, PlaceholderWithExtraSpaces) {
  EXPECT_EQ(Text("id={{      data.id   }}"), "id=ord-1001");
  EXPECT_EQ(Text("id={{ data.id}}"), "id=ord-1001");
}

TEST(TemplateSyntaxTest, PlaceholderWithTabsAndNewlines) {
  EXPECT_EQ(Text("id={{\n\t data.id \r\n}}!"), "id=ord-1001!");
}

TEST(TemplateSyntaxTest, AdjacentPlaceholdersAtBothEnds) {
  EXPECT_EQ(Text("{{data.id}}{{data.total}}"), "ord-1001150");
}

TEST(TemplateSyntaxTest, DollarBeforePlaceholderIsLiteral) {
  EXPECT_EQ(Text("Total: ${{ data.total }}"), "Total: $150");
  EntityEvent event = OrderEvent();
  event.data["total"] = 1500;
  EXPECT_EQ(Text("${{ data.total }}", event), "$1500");
}

TEST(TemplateSyntaxTest, UnterminatedOpenIsLiteral) {
  Template tmpl = Template::Compile("Total {{ data.total and more");
  EXPECT_FALSE(tmpl.has_placeholders());
  EXPECT_THAT(tmpl.invalid_placeholders(), IsEmpty());
  RenderResult result = tmpl.RenderText(OrderEvent());
  EXPECT_EQ(result.text, "Total {{ data.total and more");
  EXPECT_THAT(result.unresolved, IsEmpty());
}

TEST(TemplateSyntaxTest, UnterminatedOpenAfterPlaceholderIsLiteral) {
  EXPECT_EQ(Text("{{ data.id }} then {{ oops"), "ord-1001 then {{ oops");
}

TEST(TemplateSyntaxTest, LoneCloseIsLiteral) {
  Template tmpl = Template::Compile("a }} b");
  EXPECT_FALSE(tmpl.has_placeholders());
  EXPECT_EQ(tmpl.RenderText(OrderEvent()).text, "a }} b");
}

TEST(TemplateSyntaxTest, InnermostOpenStartsThePlaceholder) {
  EXPECT_EQ(Text("{{ {{ data.id }}"), "{{ ord-1001");
  EXPECT_EQ(Text("{{{ data.id }}}"), "{ord-1001}");
}

TEST(TemplateSyntaxTest, CompiledTemplateRendersRepeatedly) {
  Template tmpl = Template::Compile("{{ data.id }}/{{ event.entity_type }}");
  const EntityEvent event = OrderEvent();
  EXPECT_EQ(tmpl.RenderText(event).text, "ord-1001/Order");
  EXPECT_EQ(tmpl.RenderText(event).text, "ord-1001/Order");
  EntityEvent other = OrderEvent();
  other.data["id"] = "ord-2";
  EXPECT_EQ(tmpl.RenderText(other).text, "ord-2/Order");
}

// --- Path roots ---------------------------------------------------------------------------

TEST(TemplatePathTest, BarePathReadsData) { EXPECT_EQ(Text("{{ status }}"), "shipped"); }

TEST(TemplatePathTest, NestedDataPath) {
  EXPECT_EQ(Text("{{ data.customer.email }} {{ customer.name }}"), "ann@example.com Ann");
}

TEST(TemplatePathTest, ArrayIndex) {
  EXPECT_EQ(Text("{{ items.0.sku }} x{{ data.items.1.qty }}"), "SKU-1 x1");
}

TEST(TemplatePathTest, EventFields) {
  EXPECT_EQ(Text("{{ event.id }}|{{ event.event_type }}|{{ event.entity_type }}|"
                 "{{ event.entity_id }}|{{ event.tenant_id }}|{{ event.user_id }}"),
            "7c9e6679-7425-40de-944b-e07fc1f90ae7|UPDATE|Order|"
            "550e8400-e29b-41d4-a716-446655440000|t-1|u-7");
}

TEST(TemplatePathTest, EventTimestampIsRfc3339) {
  EXPECT_EQ(Text("{{ event.timestamp }}"), "2026-11-29T12:00:00.500000Z");
  EXPECT_EQ(JsonBody(R"({"at": "{{ event.timestamp }}"})").text,
            R"({"at": "2026-11-29T12:00:00.500000Z"})");
}

TEST(TemplatePathTest, AbsentOptionalEventFieldIsNull) {
  EntityEvent event = OrderEvent();
  event.tenant_id.reset();
  EXPECT_EQ(Text("tenant={{ event.tenant_id }}", event), "tenant=null");
  RenderResult body = JsonBody(R"({"tenant": {{ event.tenant_id }}})", event);
  EXPECT_EQ(body.text, R"({"tenant": null})");
  EXPECT_FALSE(body.json_fallback);
}

TEST(TemplatePathTest, EventIntegerFields) {
  EntityEvent event = OrderEvent();
  event.seq = 9007199254740993;
  event.duration_ms = 42;
  EXPECT_EQ(Text("{{ event.seq }}/{{ event.duration_ms }}", event), "9007199254740993/42");
  EXPECT_EQ(JsonBody(R"({"seq": {{ event.seq }}})", event).text, R"({"seq": 9007199254740993})");
}

TEST(TemplatePathTest, EventDataIsTheWholeObject) {
  EntityEvent event = OrderEvent();
  event.data = json::parse(R"({"b": [1, 2], "a": "x"})");
  EXPECT_EQ(Text("{{ event.data }}", event), R"({"a":"x","b":[1,2]})");
}

TEST(TemplatePathTest, ChangesOldAndNew) {
  EXPECT_EQ(Text("{{ changes.status.old }} -> {{ changes.status.new }}"), "pending -> shipped");
}

// --- Text rendering ------------------------------------------------------------------------

TEST(TemplateTextTest, StringsAreInsertedRaw) {
  EXPECT_EQ(Text("[{{ v }}]", EventWithValue("a\"b\\c\nd é ✓")), "[a\"b\\c\nd é ✓]");
}

TEST(TemplateTextTest, NonStringsAreCompactJson) {
  EXPECT_EQ(Text("{{ v }}", EventWithValue(150)), "150");
  EXPECT_EQ(Text("{{ v }}", EventWithValue(-7)), "-7");
  EXPECT_EQ(Text("{{ v }}", EventWithValue(12.5)), "12.5");
  EXPECT_EQ(Text("{{ v }}", EventWithValue(json::parse("18446744073709551615"))),
            "18446744073709551615");
  EXPECT_EQ(Text("{{ v }}", EventWithValue(true)), "true");
  EXPECT_EQ(Text("{{ v }}", EventWithValue(nullptr)), "null");
  EXPECT_EQ(Text("{{ v }}", EventWithValue(json::parse(R"({"a": 1})"))), R"({"a":1})");
  EXPECT_EQ(Text("{{ v }}", EventWithValue(json::parse(R"([1, "two", null])"))),
            R"([1,"two",null])");
}

TEST(TemplateTextTest, ObjectWithInvalidUtf8DoesNotThrow) {
  json object = json::object({{"k", std::string("bad\xff")}});
  EXPECT_EQ(Text("{{ v }}", EventWithValue(object)), "{\"k\":\"bad\xEF\xBF\xBD\"}");
}

// --- Glob-escaped rendering ----------------------------------------------------------------

TEST(TemplateGlobTest, EachSpecialCharacterIsEscaped) {
  EXPECT_EQ(Glob("{{ v }}", EventWithValue("a\\b")), "a\\\\b");
  EXPECT_EQ(Glob("{{ v }}", EventWithValue("a*b")), "a\\*b");
  EXPECT_EQ(Glob("{{ v }}", EventWithValue("a?b")), "a\\?b");
  EXPECT_EQ(Glob("{{ v }}", EventWithValue("a[b")), "a\\[b");
  EXPECT_EQ(Glob("{{ v }}", EventWithValue("a]b")), "a\\]b");
  EXPECT_EQ(Glob("{{ v }}", EventWithValue("plain-value:1")), "plain-value:1");
}

TEST(TemplateGlobTest, LiteralTextIsNotEscaped) {
  EXPECT_EQ(Glob("cache:order:*:{{ v }}:[x]", EventWithValue("id*1")),
            "cache:order:*:id\\*1:[x]");
}

TEST(TemplateGlobTest, NonStringValuesAreEscapedAfterEncoding) {
  EXPECT_EQ(Glob("{{ v }}", EventWithValue(json::parse("[1, 2]"))), "\\[1,2\\]");
  EXPECT_EQ(Glob("{{ v }}", EventWithValue(150)), "150");
  EXPECT_EQ(Glob("orders:{{ event.entity_id }}"),
            "orders:550e8400-e29b-41d4-a716-446655440000");
}

// --- JSON-body rendering -------------------------------------------------------------------

TEST(TemplateJsonBodyTest, StringQuotesAndBackslashesAreEscaped) {
  RenderResult result = JsonBody(R"({"name": "{{ v }}"})", EventWithValue("a\"b\\c"));
  EXPECT_EQ(result.text, R"({"name": "a\"b\\c"})");
  EXPECT_FALSE(result.json_fallback);
  EXPECT_EQ(json::parse(result.text)["name"], "a\"b\\c");
}

TEST(TemplateJsonBodyTest, ControlCharactersAreEscaped) {
  RenderResult result = JsonBody(R"({"s": "{{ v }}"})", EventWithValue("l1\nl2\t\r\b\f\x01"));
  EXPECT_EQ(result.text, R"({"s": "l1\nl2\t\r\b\f\u0001"})");
  EXPECT_EQ(json::parse(result.text)["s"], "l1\nl2\t\r\b\f\x01");
}

TEST(TemplateJsonBodyTest, UnicodeIsKeptAsUtf8) {
  RenderResult result = JsonBody(R"({"s": "{{ v }}"})", EventWithValue("café ✓ 😀"));
  EXPECT_EQ(result.text, R"({"s": "café ✓ 😀"})");
  EXPECT_FALSE(result.json_fallback);
}

TEST(TemplateJsonBodyTest, InvalidUtf8BecomesReplacementCharacter) {
  RenderResult result =
      JsonBody(R"({"s": "{{ v }}"})", EventWithValue(std::string("a\xff" "b\xc3")));
  EXPECT_FALSE(result.json_fallback);
  EXPECT_EQ(json::parse(result.text)["s"], "a\xEF\xBF\xBD" "b\xEF\xBF\xBD");
}

TEST(TemplateJsonBodyTest, InjectionStaysInsideTheString) {
  const std::string attack = R"(x", "admin": true, "y": ")";
  RenderResult result = JsonBody(R"({"name": "{{ v }}"})", EventWithValue(attack));
  ASSERT_FALSE(result.json_fallback);
  json body = json::parse(result.text);
  EXPECT_EQ(body.size(), 1u);
  EXPECT_FALSE(body.contains("admin"));
  EXPECT_EQ(body["name"], attack);
}

TEST(TemplateJsonBodyTest, ScalarsAreJsonTokens) {
  const std::string source = R"({"x": {{ v }}})";
  EXPECT_EQ(JsonBody(source, EventWithValue(150)).text, R"({"x": 150})");
  EXPECT_EQ(JsonBody(source, EventWithValue(12.75)).text, R"({"x": 12.75})");
  EXPECT_EQ(JsonBody(source, EventWithValue(-9007199254740993)).text,
            R"({"x": -9007199254740993})");
  EXPECT_EQ(JsonBody(source, EventWithValue(json::parse("18446744073709551615"))).text,
            R"({"x": 18446744073709551615})");
  EXPECT_EQ(JsonBody(source, EventWithValue(false)).text, R"({"x": false})");
  EXPECT_EQ(JsonBody(source, EventWithValue(nullptr)).text, R"({"x": null})");
}

TEST(TemplateJsonBodyTest, ObjectsAndArraysAreInserted) {
  RenderResult result = JsonBody(R"({"c": {{ customer }}, "items": {{ items }}})");
  ASSERT_FALSE(result.json_fallback);
  EXPECT_EQ(result.text,
            R"({"c": {"email":"ann@example.com","name":"Ann"}, )"
            R"("items": [{"qty":2,"sku":"SKU-1"},{"qty":1,"sku":"SKU-2"}]})");
}

TEST(TemplateJsonBodyTest, StringInsertedInsideObjectValueIsEscapedWithQuotes) {
  RenderResult result =
      JsonBody(R"({"o": {{ v }}})", EventWithValue(json::object({{"q", "say \"hi\""}})));
  EXPECT_EQ(result.text, R"({"o": {"q":"say \"hi\""}})");
}

TEST(TemplateJsonBodyTest, AnchorOrderBody) {
  EntityEvent event = OrderEvent();
  event.data["total"] = 149.99;
  RenderResult result = JsonBody(
      "{\n"
      "  \"order_id\": \"{{ data.id }}\",\n"
      "  \"total\": {{ data.total }},\n"
      "  \"customer_id\": \"{{ data.customer_id }}\"\n"
      "}",
      event);
  ASSERT_FALSE(result.json_fallback);
  EXPECT_THAT(result.unresolved, IsEmpty());
  EXPECT_EQ(json::parse(result.text),
            json::parse(R"({"order_id": "ord-1001", "total": 149.99, "customer_id": "c-42"})"));
  // Sent as rendered, not re-serialised: the template's layout survives.
  EXPECT_EQ(result.text,
            "{\n  \"order_id\": \"ord-1001\",\n  \"total\": 149.99,\n"
            "  \"customer_id\": \"c-42\"\n}");
}

TEST(TemplateJsonBodyTest, AnchorEventEnvelopeBody) {
  const EntityEvent event = OrderEvent();
  RenderResult result = JsonBody(
      "{\n"
      "  \"event_id\": \"{{ event.id }}\",\n"
      "  \"event_type\": \"{{ event.event_type }}\",\n"
      "  \"entity\": \"{{ event.entity_type }}\",\n"
      "  \"data\": {{ event.data }}\n"
      "}",
      event);
  ASSERT_FALSE(result.json_fallback);
  json body = json::parse(result.text);
  EXPECT_EQ(body["event_id"], "7c9e6679-7425-40de-944b-e07fc1f90ae7");
  EXPECT_EQ(body["event_type"], "UPDATE");
  EXPECT_EQ(body["entity"], "Order");
  EXPECT_EQ(body["data"], event.data);
}

TEST(TemplateJsonBodyTest, PlainTextFallsBackToJsonString) {
  RenderResult result = JsonBody("Order #{{ data.id }} is on its way.");
  EXPECT_TRUE(result.json_fallback);
  EXPECT_EQ(result.text, R"("Order #ord-1001 is on its way.")");
  EXPECT_EQ(json::parse(result.text), "Order #ord-1001 is on its way.");
}

TEST(TemplateJsonBodyTest, FallbackEscapesValuesOnlyOnce) {
  RenderResult result = JsonBody("Hello {{ v }}!", EventWithValue("a\"b\\c"));
  EXPECT_TRUE(result.json_fallback);
  EXPECT_EQ(json::parse(result.text), "Hello a\"b\\c!");
}

TEST(TemplateJsonBodyTest, UnquotedStringFallsBack) {
  RenderResult result = JsonBody(R"({"id": {{ data.id }}})");
  EXPECT_TRUE(result.json_fallback);
  EXPECT_EQ(json::parse(result.text), R"({"id": ord-1001})");
}

TEST(TemplateJsonBodyTest, MissingValueLeavesPlaceholderAndFallsBack) {
  RenderResult result = JsonBody(R"({"total": {{ data.missing }}})");
  EXPECT_TRUE(result.json_fallback);
  EXPECT_THAT(result.unresolved, ElementsAre("data.missing"));
  EXPECT_EQ(json::parse(result.text), R"({"total": {{ data.missing }}})");
}

TEST(TemplateJsonBodyTest, MissingValueInsideQuotesStaysValidJson) {
  RenderResult result = JsonBody(R"({"email": "{{ customer.phone }}"})");
  EXPECT_FALSE(result.json_fallback);
  EXPECT_EQ(result.text, R"({"email": "{{ customer.phone }}"})");
  EXPECT_THAT(result.unresolved, ElementsAre("customer.phone"));
}

// --- Unresolved and invalid placeholders ---------------------------------------------------

TEST(TemplateUnresolvedTest, MissingPathsStayVerbatimAndAreListedOnce) {
  RenderResult result =
      Template::Compile("{{ data.nope }}/{{data.id}}/{{ items.9.sku }}/{{  data.nope }}")
          .RenderText(OrderEvent());
  EXPECT_EQ(result.text, "{{ data.nope }}/ord-1001/{{ items.9.sku }}/{{  data.nope }}");
  EXPECT_THAT(result.unresolved, ElementsAre("data.nope", "items.9.sku"));
}

TEST(TemplateUnresolvedTest, ChangesWithoutBeforeImageAreUnresolved) {
  EntityEvent event = OrderEvent();
  event.changes = nullptr;
  RenderResult result = Template::Compile("was {{ changes.status.old }}").RenderText(event);
  EXPECT_EQ(result.text, "was {{ changes.status.old }}");
  EXPECT_THAT(result.unresolved, ElementsAre("changes.status.old"));
}

TEST(TemplateUnresolvedTest, MissingPlaceholderIsNotGlobEscaped) {
  RenderResult result = Template::Compile("k:{{ data.nope }}").RenderGlobEscaped(OrderEvent());
  EXPECT_EQ(result.text, "k:{{ data.nope }}");
  EXPECT_THAT(result.unresolved, ElementsAre("data.nope"));
}

TEST(TemplateInvalidTest, UnknownEventFieldIsReportedWithLocation) {
  Template tmpl = Template::Compile("id: {{ event.nope }}");
  ASSERT_EQ(tmpl.invalid_placeholders().size(), 1u);
  const Diagnostic& warning = tmpl.invalid_placeholders()[0];
  EXPECT_EQ(warning.severity, Severity::kWarning);
  EXPECT_EQ(warning.location.line, 1u);
  EXPECT_EQ(warning.location.column, 5u);
  EXPECT_THAT(warning.message, HasSubstr("'{{ event.nope }}' can never resolve"));
  EXPECT_THAT(warning.message, HasSubstr("unknown event field 'nope'"));
  EXPECT_EQ(warning.ToString().substr(0, 14), "1:5: warning: ");
  EXPECT_TRUE(tmpl.has_placeholders());
}

TEST(TemplateInvalidTest, MalformedPathsAreReported) {
  Template tmpl = Template::Compile("{{ a b }} and {{ }} and {{a..b}}");
  ASSERT_EQ(tmpl.invalid_placeholders().size(), 3u);
  EXPECT_EQ(tmpl.invalid_placeholders()[0].location.column, 1u);
  EXPECT_THAT(tmpl.invalid_placeholders()[0].message, HasSubstr("segment 'a b'"));
  EXPECT_EQ(tmpl.invalid_placeholders()[1].location.column, 15u);
  EXPECT_THAT(tmpl.invalid_placeholders()[1].message, HasSubstr("empty field path"));
  EXPECT_EQ(tmpl.invalid_placeholders()[2].location.column, 25u);
}

TEST(TemplateInvalidTest, LocationOnLaterLine) {
  Template tmpl =
      Template::Compile("{\n  \"a\": \"{{ data.id }}\",\n\t\"b\": \"{{ event.bad }}\"\n}");
  ASSERT_EQ(tmpl.invalid_placeholders().size(), 1u);
  EXPECT_EQ(tmpl.invalid_placeholders()[0].location.line, 3u);
  EXPECT_EQ(tmpl.invalid_placeholders()[0].location.column, 8u);

  Template second = Template::Compile("Hello\n  {{ x y }}");
  ASSERT_EQ(second.invalid_placeholders().size(), 1u);
  EXPECT_EQ(second.invalid_placeholders()[0].location,
            (SourceLocation{.file = "", .line = 2, .column = 3}));
}

TEST(TemplateInvalidTest, InvalidPlaceholderStaysVerbatimInEveryRendering) {
  Template tmpl = Template::Compile(R"({"x": "{{ event.nope }}", "id": "{{ data.id }}*"})");
  const EntityEvent event = OrderEvent();
  const std::string expected = R"({"x": "{{ event.nope }}", "id": "ord-1001*"})";
  EXPECT_EQ(tmpl.RenderText(event).text, expected);
  EXPECT_EQ(tmpl.RenderGlobEscaped(event).text, expected);
  RenderResult body = tmpl.RenderJsonBody(event);
  EXPECT_EQ(body.text, expected);
  EXPECT_FALSE(body.json_fallback);
  // Invalid placeholders are reported at compile time, not as unresolved per event.
  EXPECT_THAT(body.unresolved, IsEmpty());
}

TEST(TemplateInvalidTest, OnlyInvalidPlaceholdersStillCount) {
  Template tmpl = Template::Compile("{{ }}");
  EXPECT_TRUE(tmpl.has_placeholders());
  EXPECT_EQ(tmpl.RenderText(OrderEvent()).text, "{{ }}");
}

}  // namespace
}  // namespace fraiseql
