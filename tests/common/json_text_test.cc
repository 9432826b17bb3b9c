#include "common/json_text.h"

#include <string>

#include <gtest/gtest.h>

namespace fraiseql {
namespace {

using nlohmann::json;

std::string Dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

TEST(AppendJsonTest, AppendsWhatDumpWrites) {
  const json value = json::parse(R"({"b": [1, 2.5, -3, true, null], "a": {"x": "y\nz"}, "big": 18446744073709551615})");
  std::string out = "keep:";
  AppendJson(out, value);
  EXPECT_EQ(out, "keep:" + Dump(value));
}

TEST(AppendJsonTest, ReplacesInvalidUtf8InsteadOfThrowing) {
  std::string out;
  AppendJson(out, json("a\xff" "b"));
  EXPECT_EQ(out, "\"a\xef\xbf\xbd" "b\"");
}

TEST(AppendJsonStringTest, PlainAsciiAndEscapedTextBothMatchDump) {
  for (const std::string& text : {std::string("550e8400-e29b-41d4-a716-446655440000"), std::string(""),
                                 std::string("quote \" and backslash \\"), std::string("tab\tnew\nline\x01"),
                                 std::string("caf\xc3\xa9 \xe2\x9c\x93"), std::string("bad \xc3 tail"),
                                 std::string("nul \0 byte", 10), std::string("del \x7f")}) {
    std::string out = "[";
    AppendJsonString(out, text);
    EXPECT_EQ(out, "[" + Dump(json(text))) << text;
  }
}

TEST(JsonObjectTextTest, WritesFieldsInTheOrderGiven) {
  std::string out;
  JsonObjectText object(out);
  object.Int("a", -7);
  object.Json("b", json::array({1, "two"}));
  object.Null("c");
  object.Raw("d", R"({"x":1})");
  object.String("e", "f\"g");
  object.Close();
  EXPECT_EQ(out, R"({"a":-7,"b":[1,"two"],"c":null,"d":{"x":1},"e":"f\"g"})");
  EXPECT_EQ(json::parse(out)["e"], "f\"g");
}

TEST(JsonObjectTextTest, AnEmptyObjectIsBraces) {
  std::string out;
  JsonObjectText(out).Close();
  EXPECT_EQ(out, "{}");
}

}  // namespace
}  // namespace fraiseql
