// The internal value comparisons and number parsing of the condition language, tested
// directly on their edge cases (exactness across integer and floating representations).

#include "condition/value.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

namespace fraiseql::condition_internal {
namespace {

using nlohmann::json;

ValueView View(const json& value) { return ValueView::FromJson(value); }

TEST(ParseNumberTest, ChoosesTheNarrowestExactType) {
  EXPECT_EQ(ParseNumber("42")->type, Literal::Type::kInt);
  EXPECT_EQ(ParseNumber("-9223372036854775808")->integer, std::numeric_limits<int64_t>::min());
  auto above_int64 = ParseNumber("9223372036854775808");
  ASSERT_TRUE(above_int64.has_value());
  EXPECT_EQ(above_int64->type, Literal::Type::kUInt);
  EXPECT_EQ(above_int64->unsigned_integer, uint64_t{9223372036854775808u});
  EXPECT_EQ(ParseNumber("18446744073709551616")->type, Literal::Type::kDouble);
  EXPECT_EQ(ParseNumber("-9223372036854775809")->type, Literal::Type::kDouble);
  EXPECT_EQ(ParseNumber("2.5")->type, Literal::Type::kDouble);
  EXPECT_EQ(ParseNumber("1e3")->real, 1000.0);
  EXPECT_EQ(ParseNumber("2.5E-2")->text, "2.5E-2");
}

TEST(ParseNumberTest, RejectsNonJsonNumbersAndOverflow) {
  for (const char* text : {"", "-", "01", "1.", ".5", "1e", "1e+", "+1", "1x", "0x10", "--1"}) {
    EXPECT_FALSE(HasNumberSyntax(text)) << text;
    EXPECT_FALSE(ParseNumber(text).has_value()) << text;
  }
  EXPECT_TRUE(HasNumberSyntax("1e999"));
  EXPECT_FALSE(ParseNumber("1e999").has_value());
  auto tiny = ParseNumber("1e-400");  // underflow rounds to zero, as JSON readers do
  ASSERT_TRUE(tiny.has_value());
  EXPECT_EQ(tiny->real, 0.0);
}

TEST(ValueEqualTest, MixedNumericRepresentationsAreExact) {
  EXPECT_TRUE(Equal(View(json(int64_t{100})), View(json(100.0))));
  EXPECT_TRUE(Equal(View(json(uint64_t{100})), View(json(int64_t{100}))));
  EXPECT_FALSE(Equal(View(json(int64_t{-1})), View(json(uint64_t{18446744073709551615u}))));
  // 2^53 + 1 is not representable as a double; the double 2^53 must not equal it.
  EXPECT_FALSE(Equal(View(json(int64_t{9007199254740993})), View(json(9007199254740992.0))));
  // 2^64 as a double is one more than UINT64_MAX.
  EXPECT_FALSE(
      Equal(View(json(uint64_t{18446744073709551615u})), View(json(18446744073709551616.0))));
  EXPECT_FALSE(Equal(View(json(int64_t{3})), View(json(3.5))));
}

TEST(ValueOrderTest, MixedNumericRepresentationsAreExact) {
  EXPECT_EQ(Order(View(json(int64_t{3})), View(json(3.5))), Ordering::kLess);
  EXPECT_EQ(Order(View(json(-3.5)), View(json(int64_t{-3}))), Ordering::kLess);
  EXPECT_EQ(Order(View(json(int64_t{-1})), View(json(uint64_t{0}))), Ordering::kLess);
  EXPECT_EQ(Order(View(json(uint64_t{18446744073709551615u})), View(json(int64_t{5}))),
            Ordering::kGreater);
  EXPECT_EQ(Order(View(json(uint64_t{18446744073709551615u})), View(json(1.8446744073709552e19))),
            Ordering::kLess);
  EXPECT_EQ(Order(View(json(int64_t{std::numeric_limits<int64_t>::min()})), View(json(-1e300))),
            Ordering::kGreater);
  EXPECT_EQ(Order(View(json(uint64_t{7})), View(json(-0.5))), Ordering::kGreater);
  EXPECT_EQ(Order(View(json(int64_t{9007199254740993})), View(json(9007199254740992.0))),
            Ordering::kGreater);
}

TEST(ValueOrderTest, NanIsUnorderedAndNeverEqual) {
  const json nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(Order(View(nan), View(json(1))), Ordering::kUnordered);
  EXPECT_EQ(Order(View(json(uint64_t{1})), View(nan)), Ordering::kUnordered);
  EXPECT_FALSE(Equal(View(nan), View(nan)));
}

TEST(ValueOrderTest, NullAndMismatchedTypes) {
  EXPECT_EQ(Order(View(json(nullptr)), View(json(1))), Ordering::kNull);
  EXPECT_EQ(Order(ValueView(), View(json("a"))), Ordering::kNull);
  EXPECT_EQ(Order(View(json("a")), View(json(1))), Ordering::kMismatch);
  EXPECT_EQ(Order(View(json(true)), View(json(false))), Ordering::kMismatch);
  EXPECT_EQ(Order(View(json::array()), View(json::array())), Ordering::kMismatch);
}

TEST(ValueDescribeTest, NamesTypesAndShortensLongValues) {
  EXPECT_EQ(TypeName(View(json(1.5))), "a number");
  EXPECT_EQ(TypeName(ValueView()), "missing");
  EXPECT_EQ(DescribeValue(View(json("it's"))), "'it\\'s'");
  const std::string long_array = DescribeValue(View(json(std::vector<int>(100, 7))));
  EXPECT_EQ(long_array.size(), 43u);
  EXPECT_EQ(long_array.substr(40), "...");
  // Invalid UTF-8 inside an object must not throw while describing it.
  EXPECT_NE(DescribeValue(View(json{{"k", "\xFF"}})).find("k"), std::string::npos);
}

}  // namespace
}  // namespace fraiseql::condition_internal
