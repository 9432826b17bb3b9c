#include "common/base64.h"

#include <string>

#include <gtest/gtest.h>

namespace fraiseql {
namespace {

TEST(Base64Test, RoundTripsEveryByteAndLength) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  for (size_t length = 0; length <= bytes.size(); length += 7) {
    const std::string input = bytes.substr(0, length);
    EXPECT_EQ(Base64Decode(Base64Encode(input)), std::optional<std::string>(input)) << length;
  }
}

TEST(Base64Test, RefusesWhatIsNotStrictBase64) {
  for (const char* text : {"Zg=", "Zg", "Z===", "Zm9v YmFy", "Zm9v\n", "Zg==Zg==", "Zm-v", "Zm_v", "=Zm9"}) {
    EXPECT_FALSE(Base64Decode(text)) << text;
  }
}

TEST(StandardWebhooksKeyTest, DecodesWhsecAndUsesOtherSecretsVerbatim) {
  EXPECT_EQ(StandardWebhooksKey(Secret("whsec_Zm9vYmFy")).value(), "foobar");
  EXPECT_EQ(StandardWebhooksKey(Secret("plain secret")).value(), "plain secret");
}

TEST(StandardWebhooksKeyTest, RefusesAnUnusableWhsecWithoutQuotingIt) {
  Result<std::string> key = StandardWebhooksKey(Secret("whsec_not-base64!"));
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(key.error().message.find("not valid base64"), std::string::npos);
  EXPECT_EQ(key.error().message.find("not-base64!"), std::string::npos);
  key = StandardWebhooksKey(Secret("whsec_"));
  ASSERT_FALSE(key);
  EXPECT_NE(key.error().message.find("nothing after"), std::string::npos);
}

}  // namespace
}  // namespace fraiseql
