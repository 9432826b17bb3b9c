#include "common/secret.h"

#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace fraiseql {
namespace {

TEST(SecretTest, StreamsAsRedacted) {
  const Secret secret("hunter2");
  std::ostringstream out;
  out << "token=" << secret;
  EXPECT_EQ(out.str(), "token=<redacted>");
  EXPECT_EQ(out.str().find("hunter2"), std::string::npos);
}

TEST(SecretTest, RevealGivesTheBytes) {
  const Secret secret("whsec_abc");
  EXPECT_EQ(secret.Reveal(), "whsec_abc");
  EXPECT_FALSE(secret.empty());
  EXPECT_TRUE(Secret().empty());
}

TEST(SecretTest, GoogleTestPrintsItRedacted) {
  EXPECT_EQ(::testing::PrintToString(Secret("hunter2")), "<redacted>");
}

TEST(SecretTest, ComparesByValue) {
  EXPECT_EQ(Secret("a"), Secret("a"));
  EXPECT_NE(Secret("a"), Secret("b"));
}

}  // namespace
}  // namespace fraiseql
