// The config file's size, line, dotted-key and nesting limits: the scan alone, then through the
// loader, whose toml++ parser must never see text over them (it recursed to death on a
// 40,000-segment key before they existed).
#include "config/toml_limits.h"

#include <filesystem>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/file.h"
#include "config/config.h"
#include "config_test_util.h"

namespace fraiseql {
namespace {

using ::testing::HasSubstr;
using testing::AllDiagnostics;
using testing::Load;
using testing::OnlyError;

// "k0.k1.k2 ..." with `segments` segments.
std::string DottedKey(size_t segments) {
  std::string key;
  for (size_t i = 0; i < segments; ++i) key += (i ? ".k" : "k") + std::to_string(i % 10);
  return key;
}

// Column (1-based) where segment `index` (0-based) of DottedKey starts, after `prefix` bytes.
uint32_t SegmentColumn(size_t prefix, size_t index) { return static_cast<uint32_t>(prefix + 3 * index + 1); }

void ExpectRefusedAt(const Result<void>& result, uint32_t line, uint32_t column, const std::string& message) {
  ASSERT_FALSE(result) << "expected a refusal: " << message;
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(result.error().message, HasSubstr(message));
  ASSERT_TRUE(result.error().location);
  EXPECT_EQ(result.error().location->line, line) << result.error().message;
  EXPECT_EQ(result.error().location->column, column) << result.error().message;
}

TomlLimits Small(size_t depth, size_t segments) {
  TomlLimits limits;
  limits.max_depth = depth;
  limits.max_key_segments = segments;
  return limits;
}

TEST(CheckTomlLimits, DefaultsAreDocumented) {
  // docs/security.md and docs/configuration.md state these numbers; change them together.
  EXPECT_EQ(kDefaultTomlMaxBytes, 4u << 20);
  EXPECT_EQ(kDefaultTomlMaxLineBytes, 64u << 10);
  EXPECT_EQ(kDefaultTomlMaxKeySegments, 32u);
  EXPECT_EQ(kDefaultTomlMaxDepth, 64u);
}

TEST(CheckTomlLimits, ADottedKeyUpToTheLimitPassesOneSegmentMoreIsRefused) {
  EXPECT_TRUE(CheckTomlLimits(DottedKey(32) + " = 1\n"));
  ExpectRefusedAt(CheckTomlLimits(DottedKey(33) + " = 1\n"), 1, SegmentColumn(0, 32),
                  "dotted key has more than 32 segments (the limit for keys and table headers)");
  // Blanks around the dots and quoted segments count the same; a dot inside quotes is no separator.
  EXPECT_TRUE(CheckTomlLimits("a . \"b.c.d\" . 'e.f' = 1\n", Small(3, 3)));
  EXPECT_FALSE(CheckTomlLimits("a . \"b\" . 'e' . f = 1\n", Small(4, 3)));
}

TEST(CheckTomlLimits, AFortyThousandSegmentKeyIsRefusedAtItsThirtyThirdSegment) {
  const std::string text = "[observers]\n" + DottedKey(40'000) + " = true\n";
  ExpectRefusedAt(CheckTomlLimits(text), 2, SegmentColumn(0, 32), "more than 32 segments");
}

TEST(CheckTomlLimits, TableHeadersAreKeysToo) {
  EXPECT_TRUE(CheckTomlLimits("[" + DottedKey(32) + "]\n"));
  ExpectRefusedAt(CheckTomlLimits("\n[" + DottedKey(33) + "]\n"), 2, SegmentColumn(1, 32), "more than 32 segments");
  ExpectRefusedAt(CheckTomlLimits("[[" + DottedKey(33) + "]]\n"), 1, SegmentColumn(2, 32), "more than 32 segments");
  ExpectRefusedAt(CheckTomlLimits("[[ " + DottedKey(40'000) + " ]]\n"), 1, SegmentColumn(3, 32),
                  "more than 32 segments");
}

TEST(CheckTomlLimits, DepthCountsHeaderSegmentsKeySegmentsArraysAndInlineTables) {
  // 32 header segments and 32 key segments put the value at depth 64: the limit.
  const std::string deepest = "[" + DottedKey(32) + "]\n" + DottedKey(32);
  EXPECT_TRUE(CheckTomlLimits(deepest + " = 1\n"));
  EXPECT_TRUE(CheckTomlLimits(deepest + " = []\n"));
  EXPECT_TRUE(CheckTomlLimits(deepest + " = {}\n"));
  // An element of that array, or a key of that table, is one level deeper.
  ExpectRefusedAt(CheckTomlLimits(deepest + " = [1]\n"), 2, 100,
                  "nesting is deeper than 64 levels (counting each table header and dotted-key segment, array and "
                  "inline table around a value)");
  ExpectRefusedAt(CheckTomlLimits(deepest + " = {a = 1}\n"), 2, 100, "nesting is deeper than 64 levels");
  // An array of tables adds one level for the array.
  ExpectRefusedAt(CheckTomlLimits("[[" + DottedKey(32) + "]]\n" + DottedKey(32) + " = 1\n"), 2, SegmentColumn(0, 31),
                  "nesting is deeper than 64 levels");
  EXPECT_TRUE(CheckTomlLimits("[[" + DottedKey(32) + "]]\n" + DottedKey(31) + " = 1\n"));
  // A header through an array of tables goes through its last element, one level more.
  EXPECT_TRUE(CheckTomlLimits("[[a]]\n[[a.b]]\nc = 1\n", Small(5, 2)));
  ExpectRefusedAt(CheckTomlLimits("[[a]]\n[[a.b]]\nc = 1\n", Small(4, 2)), 3, 1, "deeper than 4 levels");
  ExpectRefusedAt(CheckTomlLimits("[[a]]\n[\"\\u0061\".'b'.c]\n", Small(3, 3)), 2, 1, "deeper than 3 levels");
  EXPECT_TRUE(CheckTomlLimits("[[a]]\n[\"\\u0062\".'b'.c]\n", Small(3, 3)));
  EXPECT_TRUE(CheckTomlLimits("[a]\n[[a.b]]\n", Small(3, 2)));
  // A new header starts again from the top.
  EXPECT_TRUE(CheckTomlLimits("[a.b.c]\nx = 1\n[d]\ne.f.g = 1\n", Small(4, 3)));
  EXPECT_FALSE(CheckTomlLimits("[a.b.c]\nx = 1\n[d]\ne.f.g.h = 1\n", Small(4, 3)));
}

TEST(CheckTomlLimits, NestedArraysAndInlineTablesUpToTheLimitPass) {
  // `a` is at depth 1, so 64 arrays reach depth 64.
  EXPECT_TRUE(CheckTomlLimits("a = " + std::string(64, '[') + std::string(64, ']') + "\n"));
  ExpectRefusedAt(CheckTomlLimits("a = " + std::string(65, '[') + std::string(65, ']') + "\n"), 1, 69,
                  "nesting is deeper than 64 levels");
  std::string tables = "a = ";
  for (int i = 0; i < 63; ++i) tables += "{b = ";
  tables += "{}" + std::string(63, '}') + "\n";
  EXPECT_TRUE(CheckTomlLimits(tables));
  EXPECT_FALSE(CheckTomlLimits("x = {y = 1}\n" + tables.replace(0, 4, "a = {c = ")));
  // Inline tables with dotted keys inside arrays.
  EXPECT_TRUE(CheckTomlLimits("a = [{b.c = [1]}]\n", Small(5, 2)));
  EXPECT_FALSE(CheckTomlLimits("a = [{b.c = [[1]]}]\n", Small(5, 2)));
  EXPECT_FALSE(CheckTomlLimits("a = [{b.c.d = 1}]\n", Small(9, 2)));
}

TEST(CheckTomlLimits, AHundredThousandNestedArraysAreRefused) {
  ExpectRefusedAt(CheckTomlLimits("a = " + std::string(100'000, '[') + "\n"), 1, 69, "deeper than 64 levels");
  std::string tables = "a = ";
  for (int i = 0; i < 20'000; ++i) tables += "{b=";
  // The 64th table is at depth 64 (column 5 + 3 * 63); its key b would be at 65.
  ExpectRefusedAt(CheckTomlLimits(tables + "\n"), 1, 5 + 3 * 63 + 1, "deeper than 64 levels");
}

TEST(CheckTomlLimits, MultiLineArraysWithCommentsCount) {
  const std::string text =
      "a = [\n"
      "  [1, 2], # a comment [[[[ with.dots.in.it\n"
      "  [3],\n"
      "  [\n"
      "    [4],\n"
      "  ],\n"
      "]\n"
      "b = 1\n";
  EXPECT_TRUE(CheckTomlLimits(text, Small(4, 1)));
  ExpectRefusedAt(CheckTomlLimits(text, Small(3, 1)), 5, 6, "deeper than 3 levels");
}

TEST(CheckTomlLimits, BracketsAndDotsInStringsAndCommentsCountForNothing) {
  const TomlLimits two = Small(2, 1);
  EXPECT_TRUE(CheckTomlLimits("a = \"[[[[{{{{\"\n", two));
  EXPECT_TRUE(CheckTomlLimits("a = '[[[[{{{{'\n", two));
  EXPECT_TRUE(CheckTomlLimits("a = \"\"\"\n[[[[\n{{{{\n\"\"\"\n", two));
  EXPECT_TRUE(CheckTomlLimits("a = '''\n[[[[ a.b.c = 1\n'''\n", two));
  EXPECT_TRUE(CheckTomlLimits("# [[[[ a.b.c.d\na = 1 # ]]]] {{{{\n", two));
  EXPECT_TRUE(CheckTomlLimits("\"a.b.c\" = 1\n'd.e.f' = 2\n", two));
  // Numbers and dates hold dots; they are values, not keys.
  EXPECT_TRUE(CheckTomlLimits("a = 1.5\nb = 1979-05-27T07:32:00.999Z\nc = 1979-05-27 07:32:00.5\nd = -1e3\n", two));
  // Each string ends where TOML says, so what follows it still counts: an escaped quote does not
  // end a basic string, a backslash escapes nothing in a literal one, and a multi-line string
  // may end with up to two quotes of content before its closing three.
  const std::string too_deep = "b = [[[1]]]\n";
  EXPECT_FALSE(CheckTomlLimits("a = \"x\\\"[[\"\n" + too_deep, two));
  EXPECT_FALSE(CheckTomlLimits("a = 'C:\\dir\\'\n" + too_deep, two));
  EXPECT_FALSE(CheckTomlLimits("a = \"\"\"x\\\"\"\"[[\"\"\"\n" + too_deep, two));
  EXPECT_FALSE(CheckTomlLimits("a = \"\"\"x\"\"\"\"\"\n" + too_deep, two));
  EXPECT_FALSE(CheckTomlLimits("a = '''x'''''\n" + too_deep, two));
  EXPECT_FALSE(CheckTomlLimits("a = \"\\\\\"\n" + too_deep, two));
}

TEST(CheckTomlLimits, ALongLineIsRefusedAtTheFirstByteOverTheLimit) {
  const std::string at_limit = "a = \"" + std::string(kDefaultTomlMaxLineBytes - 6, 'x') + "\"";
  ASSERT_EQ(at_limit.size(), kDefaultTomlMaxLineBytes);
  EXPECT_TRUE(CheckTomlLimits("# first\n" + at_limit + "\r\nb = 1\n"));
  ExpectRefusedAt(CheckTomlLimits("# first\n" + at_limit + "x\nb = 1\n"), 2, kDefaultTomlMaxLineBytes + 1,
                  "line is 65537 bytes long; config lines are limited to 64 KiB");
  // A multi-line string is many lines: its length is not a line's.
  std::string many_lines = "a = \"\"\"\n";
  for (int i = 0; i < 4; ++i) many_lines += std::string(kDefaultTomlMaxLineBytes, 'y') + "\n";
  EXPECT_TRUE(CheckTomlLimits(many_lines + "\"\"\"\n"));
}

TEST(CheckTomlLimits, AFileUpToTheSizeLimitPassesOneByteMoreIsRefused) {
  std::string text;
  const std::string line = "# " + std::string(1021, '-') + "\n";  // 1 KiB
  while (text.size() < kDefaultTomlMaxBytes) text += line;
  ASSERT_EQ(text.size(), kDefaultTomlMaxBytes);
  EXPECT_TRUE(CheckTomlLimits(text));
  ExpectRefusedAt(CheckTomlLimits(text + "\n"), 1, 1, "the config is 4194305 bytes; config files are limited to 4 MiB");
}

TEST(CheckTomlLimits, AByteOrderMarkIsNotAKey) {
  EXPECT_TRUE(CheckTomlLimits("\xEF\xBB\xBF" "a.b = 1\n", Small(2, 2)));
}

TEST(CheckTomlLimits, EveryExampleConfigPasses) {
  const std::filesystem::path examples = std::filesystem::path(FRAISEQL_SOURCE_DIR) / "examples";
  size_t files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(examples)) {
    if (entry.path().extension() != ".toml") continue;
    Result<std::string> text = ReadWholeFile(entry.path().string());
    ASSERT_TRUE(text) << entry.path();
    Result<void> within = CheckTomlLimits(*text);
    EXPECT_TRUE(within) << entry.path() << ": " << (within ? "" : within.error().message);
    ++files;
  }
  EXPECT_GE(files, 6u);
}

// Through the loader: the refusal is the one diagnostic, with the file's name, and toml++ never
// runs (it would have crashed on these).
TEST(LoadConfigLimits, AFortyThousandSegmentKeyIsOneErrorWithFileLineAndColumn) {
  const LoadResult result = Load(std::string(testing::kMinimalObserver) + DottedKey(40'000) + " = 1\n");
  EXPECT_FALSE(result.ok());
  const Diagnostic error = OnlyError(result);
  EXPECT_EQ(error.ToString(),
            "test.toml:9:97: error: dotted key has more than 32 segments (the limit for keys and table headers)");
}

TEST(LoadConfigLimits, DeepInlineNestingIsOneError) {
  const LoadResult result = Load("[[observers]]\nentity = \"Order\"\nx = " + std::string(100'000, '[') + "\n");
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(OnlyError(result).ToString(), HasSubstr("test.toml:3:67: error: nesting is deeper than 64 levels"));
}

TEST(LoadConfigLimits, TextOverTheSizeLimitIsOneError) {
  const LoadResult result = Load(std::string(testing::kMinimalObserver) + std::string(kDefaultTomlMaxBytes, '\n'));
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(OnlyError(result).ToString(), HasSubstr("test.toml:1:1: error: the config is"));
}

TEST(LoadConfigLimits, AFileOverTheSizeLimitIsRefusedWithoutReadingItAll) {
  const std::string path = ::testing::TempDir() + "/over_the_limit.toml";
  {
    std::ofstream file(path, std::ios::binary);
    file << testing::kMinimalObserver << std::string(kDefaultTomlMaxBytes, '#');
  }
  const LoadResult result = LoadConfigFile(path);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(OnlyError(result).ToString(),
            path + ":1:1: error: the config file is larger than 4 MiB; config files are limited to that size");
  // /dev/zero never ends: the limit alone ends the read.
  EXPECT_THAT(AllDiagnostics(LoadConfigFile("/dev/zero")), HasSubstr("larger than 4 MiB"));
}

// A database action's params are free-form: `params` sits at depth 5 (observers, its element,
// actions, its element, params), so 60 nested arrays reach the limit of 64.
std::string DatabaseActionWithParams(size_t arrays) {
  return "[[observers]]\nentity = \"Order\"\nevent_type = \"INSERT\"\n"
         "[[observers.actions]]\ntype = \"database\"\nfunction_name = \"audit.log_order\"\n"
         "params = " + std::string(arrays, '[') + std::string(arrays, ']') + "\n";
}

TEST(LoadConfigLimits, AConfigJustWithinTheLimitsLoads) {
  const LoadResult result = Load(DatabaseActionWithParams(60) + "# " + std::string(kDefaultTomlMaxLineBytes - 2, 'x'));
  ASSERT_TRUE(result.ok()) << AllDiagnostics(result);
  const nlohmann::json& params = std::get<DatabaseAction>(result.config->observers.at(0).actions.at(0).spec).params;
  size_t depth = 0;
  const nlohmann::json* at = &params;
  while (at->is_array()) {
    ++depth;
    if (at->empty()) break;
    at = &at->front();
  }
  EXPECT_EQ(depth, 60u);

  const LoadResult deeper = Load(DatabaseActionWithParams(61));
  EXPECT_FALSE(deeper.ok());
  EXPECT_THAT(OnlyError(deeper).ToString(), HasSubstr("test.toml:7:70: error: nesting is deeper than 64 levels"));
}

}  // namespace
}  // namespace fraiseql
