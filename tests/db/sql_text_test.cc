// sql_text: JSON parameters, and large batches cut into arrays PostgreSQL accepts.
#include "db/sql_text.h"

#include <gtest/gtest.h>

namespace fraiseql {
namespace {

TEST(JsonArrays, CutsAtTheByteLimitAndKeepsEveryElementInOrder) {
  std::vector<nlohmann::json> elements;
  for (int n = 0; n < 10; ++n) elements.push_back({{"n", n}, {"pad", std::string(90, 'x')}});
  const std::vector<std::string> arrays = sql_text::JsonArrays(elements, 350);
  ASSERT_GT(arrays.size(), 1u);
  std::vector<int> seen;
  for (const std::string& array : arrays) {
    EXPECT_LE(array.size(), 350u);
    for (const nlohmann::json& element : nlohmann::json::parse(array)) seen.push_back(element["n"].get<int>());
  }
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(JsonArrays, AnElementOverTheLimitTravelsAlone) {
  const std::vector<nlohmann::json> elements = {1, std::string(1000, 'y'), 3};
  const std::vector<std::string> arrays = sql_text::JsonArrays(elements, 100);
  ASSERT_EQ(arrays.size(), 3u);
  EXPECT_EQ(arrays[0], "[1]");
  EXPECT_EQ(nlohmann::json::parse(arrays[1]).size(), 1u);
  EXPECT_EQ(arrays[2], "[3]");
}

TEST(JsonArrays, NothingGivesNoArrayAndOneBatchGivesOne) {
  EXPECT_TRUE(sql_text::JsonArrays({}).empty());
  const std::vector<nlohmann::json> elements = {1, 2, 3};
  EXPECT_EQ(sql_text::JsonArrays(elements), (std::vector<std::string>{"[1,2,3]"}));
}

TEST(Json, NeitherThrowsOnInvalidUtf8NorCarriesANul) {
  const nlohmann::json value = std::string("a\xff") + std::string(1, '\0') + "b";
  EXPECT_EQ(sql_text::Json(value), "\"a\xEF\xBF\xBD\\ufffdb\"");
}

}  // namespace
}  // namespace fraiseql
