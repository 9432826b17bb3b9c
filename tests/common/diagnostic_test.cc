#include "common/diagnostic.h"

#include <gtest/gtest.h>

namespace fraiseql {
namespace {

TEST(DiagnosticTest, ToStringWithFile) {
  Diagnostic diagnostic{Severity::kError, {"observers.toml", 12, 5}, "unknown key 'entty'"};
  EXPECT_EQ(diagnostic.ToString(), "observers.toml:12:5: error: unknown key 'entty'");
}

TEST(DiagnosticTest, ToStringWithoutFileAndAsWarning) {
  Diagnostic diagnostic{Severity::kWarning, {"", 1, 9}, "deprecated form"};
  EXPECT_EQ(diagnostic.ToString(), "1:9: warning: deprecated form");
}

TEST(DiagnosticTest, DefaultsToLineOneColumnOne) {
  Diagnostic diagnostic;
  diagnostic.message = "x";
  EXPECT_EQ(diagnostic.ToString(), "1:1: error: x");
}

TEST(LocationOfOffsetTest, FirstLine) {
  EXPECT_EQ(LocationOfOffset("abc", 0), (SourceLocation{"", 1, 1}));
  EXPECT_EQ(LocationOfOffset("abc", 2), (SourceLocation{"", 1, 3}));
  EXPECT_EQ(LocationOfOffset("", 0), (SourceLocation{"", 1, 1}));
}

TEST(LocationOfOffsetTest, CountsNewlines) {
  const std::string_view text = "a = 1\nbb = 2\n\nccc";
  EXPECT_EQ(LocationOfOffset(text, 5), (SourceLocation{"", 1, 6}));  // the first '\n'
  EXPECT_EQ(LocationOfOffset(text, 6), (SourceLocation{"", 2, 1}));
  EXPECT_EQ(LocationOfOffset(text, 9), (SourceLocation{"", 2, 4}));
  EXPECT_EQ(LocationOfOffset(text, 13), (SourceLocation{"", 3, 1}));
  EXPECT_EQ(LocationOfOffset(text, 14), (SourceLocation{"", 4, 1}));
  EXPECT_EQ(LocationOfOffset(text, 16), (SourceLocation{"", 4, 3}));
}

TEST(LocationOfOffsetTest, ColumnsAreBytes) {
  // "é" is two bytes in UTF-8.
  EXPECT_EQ(LocationOfOffset("é=x", 3), (SourceLocation{"", 1, 4}));
}

TEST(LocationOfOffsetTest, OffsetPastTheEndStopsAtTheEnd) {
  EXPECT_EQ(LocationOfOffset("ab\nc", 100), (SourceLocation{"", 2, 2}));
}

}  // namespace
}  // namespace fraiseql
