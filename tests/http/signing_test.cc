#include "http/signing.h"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fraiseql {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using Scheme = SigningScheme;
using std::chrono::seconds;

// The Standard Webhooks / Svix published example (spec and every reference library's tests).
constexpr std::string_view kVectorSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr std::string_view kVectorId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr int64_t kVectorTimestamp = 1614265330;
constexpr std::string_view kVectorBody = R"({"test": 2432232314})";
constexpr std::string_view kVectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

// FraiseQL/Stripe signature of the same body and timestamp, keyed by kVectorSecret verbatim:
// python3 -c "import hmac,hashlib; print(hmac.new(b'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
//   b'1614265330.{\"test\": 2432232314}', hashlib.sha256).hexdigest())"
constexpr std::string_view kVectorFraiseqlHex = "2e37df5d4a028c51a7f3133d64ae1e300d2c2c900f1b1d49d4369ad2530f8964";

// A second, unprefixed key, as in a rotation window.
constexpr std::string_view kSecondSecret = "second-key";
// python3 -c "import hmac,hashlib,base64; print(base64.b64encode(hmac.new(b'second-key',
//   b'msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{\"test\": 2432232314}', hashlib.sha256).digest()))"
constexpr std::string_view kSecondStandard = "v1,4Wzb6tcIfznzcEHPT7GcEE5B7qzv9qwZv0ckDDA6dJo=";
// python3 -c "import hmac,hashlib; print(hmac.new(b'second-key',
//   b'1614265330.{\"test\": 2432232314}', hashlib.sha256).hexdigest())"
constexpr std::string_view kSecondFraiseqlHex = "9ae11983625f54fa46576e94d21e53c530e12bd33cbf43240aec45dfc80659bb";

std::vector<HttpHeaderLine> SignVector(std::vector<Secret> secrets, Scheme scheme) {
  Result<std::vector<HttpHeaderLine>> headers =
      SignWebhook(kVectorId, kVectorTimestamp, kVectorBody, secrets, scheme);
  EXPECT_TRUE(headers.has_value()) << (headers ? "" : headers.error().message);
  return headers ? *headers : std::vector<HttpHeaderLine>{};
}

HttpHeaderLine Line(std::string_view name, std::string_view value) {
  return {std::string(name), std::string(value)};
}

std::string FraiseqlValue(std::string_view hex) { return "t=1614265330,v1=" + std::string(hex); }

// ---- HMAC-SHA256, RFC 4231 section 4 ----

TEST(HmacSha256Test, Rfc4231Case1) {
  EXPECT_EQ(HexLower(HmacSha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(HmacSha256Test, Rfc4231Case2KeyShorterThanOutput) {
  EXPECT_EQ(HexLower(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(HmacSha256Test, Rfc4231Case3) {
  EXPECT_EQ(HexLower(HmacSha256(std::string(20, '\xaa'), std::string(50, '\xdd'))),
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
}

TEST(HmacSha256Test, Rfc4231Case6KeyLargerThanBlock) {
  EXPECT_EQ(HexLower(HmacSha256(std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(HmacSha256Test, EmptyKeyAndDataGiveTheKnownMac) {
  // python3 -c "import hmac,hashlib; print(hmac.new(b'', b'', hashlib.sha256).hexdigest())"
  const std::string mac = HmacSha256("", "");
  EXPECT_EQ(mac.size(), 32u);
  EXPECT_EQ(HexLower(mac), "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

// ---- hex and base64 ----

TEST(HexLowerTest, TwoLowercaseDigitsPerByte) {
  EXPECT_EQ(HexLower(std::string("\x00\x01\x7f\x80\xab\xff", 6)), "00017f80abff");
  EXPECT_EQ(HexLower(""), "");
}

TEST(Base64Test, EncodesRfc4648Vectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode("\xfb\xff"), "+/8=");
}

TEST(Base64Test, DecodesRfc4648Vectors) {
  EXPECT_EQ(Base64Decode(""), std::optional<std::string>(""));
  EXPECT_EQ(Base64Decode("Zg=="), std::optional<std::string>("f"));
  EXPECT_EQ(Base64Decode("Zm8="), std::optional<std::string>("fo"));
  EXPECT_EQ(Base64Decode("Zm9v"), std::optional<std::string>("foo"));
  EXPECT_EQ(Base64Decode("Zm9vYg=="), std::optional<std::string>("foob"));
  EXPECT_EQ(Base64Decode("Zm9vYmE="), std::optional<std::string>("fooba"));
  EXPECT_EQ(Base64Decode("Zm9vYmFy"), std::optional<std::string>("foobar"));
}

TEST(Base64Test, RoundTripsEveryByteAndEveryPaddingLength) {
  std::string all_bytes;
  for (int b = 0; b < 256; ++b) all_bytes.push_back(static_cast<char>(b));
  for (size_t length = 0; length <= all_bytes.size(); ++length) {
    const std::string input = all_bytes.substr(0, length);
    EXPECT_EQ(Base64Decode(Base64Encode(input)), std::optional<std::string>(input)) << "length " << length;
  }
}

TEST(Base64Test, RoundTripsAcrossTheInternalChunkBoundary) {
  // Longer than one EVP_EncodeBlock/EVP_DecodeBlock chunk (48 KiB in, 64 KiB out), odd length.
  std::string input;
  for (size_t i = 0; i < 200001; ++i) input.push_back(static_cast<char>((i * 31 + 7) % 256));
  const std::string encoded = Base64Encode(input);
  EXPECT_EQ(encoded.size(), 266668u);
  EXPECT_EQ(Base64Decode(encoded), std::optional<std::string>(input));
}

TEST(Base64Test, DecodeRejectsMalformedText) {
  EXPECT_EQ(Base64Decode("Zg="), std::nullopt);       // length not a multiple of 4
  EXPECT_EQ(Base64Decode("Zg"), std::nullopt);        // unpadded
  EXPECT_EQ(Base64Decode("Z==="), std::nullopt);      // three padding characters
  EXPECT_EQ(Base64Decode("Zg==Zm9v"), std::nullopt);  // padding in the middle
  EXPECT_EQ(Base64Decode("Zm9v!A=="), std::nullopt);  // not in the alphabet
  EXPECT_EQ(Base64Decode("Zm9-"), std::nullopt);      // URL-safe alphabet is not accepted
  EXPECT_EQ(Base64Decode(" Zm9v"), std::nullopt);     // whitespace is not skipped
  EXPECT_EQ(Base64Decode("Zm9v\n"), std::nullopt);
}

// ---- Standard Webhooks key ----

TEST(StandardWebhooksKeyTest, DecodesAfterWhsecPrefixAndUsesUnprefixedSecretVerbatim) {
  Result<std::string> decoded = StandardWebhooksKey(Secret("whsec_Zm9vYmFy"));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, "foobar");
  Result<std::string> raw = StandardWebhooksKey(Secret("Zm9vYmFy"));
  ASSERT_TRUE(raw.has_value());
  EXPECT_EQ(*raw, "Zm9vYmFy");
}

TEST(StandardWebhooksKeyTest, InvalidBase64IsAnErrorThatDoesNotQuoteTheSecret) {
  Result<std::string> key = StandardWebhooksKey(Secret("whsec_not*base64!"));
  ASSERT_FALSE(key.has_value());
  EXPECT_EQ(key.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(key.error().message, "the part of the signing secret after \"whsec_\" is not valid base64");
  Result<std::string> empty = StandardWebhooksKey(Secret("whsec_"));
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().message, "the signing secret has nothing after \"whsec_\"");
}

// ---- SignWebhook ----

TEST(SignWebhookTest, ReproducesThePublishedStandardWebhooksVector) {
  const std::vector<HttpHeaderLine> headers = SignVector({Secret(std::string(kVectorSecret))}, Scheme::kStandard);
  EXPECT_THAT(headers, ElementsAre(Line("webhook-id", kVectorId), Line("webhook-timestamp", "1614265330"),
                                   Line("webhook-signature", kVectorSignature)));
}

TEST(SignWebhookTest, FraiseqlHeaderIsExactlyTimestampThenLowercaseHex) {
  const std::vector<HttpHeaderLine> headers = SignVector({Secret(std::string(kVectorSecret))}, Scheme::kFraiseql);
  EXPECT_THAT(headers, ElementsAre(Line("webhook-id", kVectorId), Line("webhook-timestamp", "1614265330"),
                                   Line("X-FraiseQL-Signature-256", FraiseqlValue(kVectorFraiseqlHex))));
}

TEST(SignWebhookTest, BothSchemesSendBothSignatureHeadersStandardFirst) {
  const std::vector<HttpHeaderLine> headers = SignVector({Secret(std::string(kVectorSecret))}, Scheme::kBoth);
  EXPECT_THAT(headers, ElementsAre(Line("webhook-id", kVectorId), Line("webhook-timestamp", "1614265330"),
                                   Line("webhook-signature", kVectorSignature),
                                   Line("X-FraiseQL-Signature-256", FraiseqlValue(kVectorFraiseqlHex))));
}

TEST(ConstantTimeEqualsTest, ComparesBytesAndLength) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("v1,abc", "v1,abc"));
  EXPECT_FALSE(ConstantTimeEquals("v1,abc", "v1,abd"));
  EXPECT_FALSE(ConstantTimeEquals("v1,abc", "v1,ab"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
}

TEST(SignWebhookTest, KeyRotationGivesOneSignaturePerSecretInOrder) {
  const std::vector<HttpHeaderLine> headers = SignVector(
      {Secret(std::string(kVectorSecret)), Secret(std::string(kSecondSecret))}, Scheme::kBoth);
  const std::string standard = std::string(kVectorSignature) + " " + std::string(kSecondStandard);
  const std::string fraiseql = FraiseqlValue(kVectorFraiseqlHex) + ",v1=" + std::string(kSecondFraiseqlHex);
  ASSERT_THAT(headers, ElementsAre(Line("webhook-id", kVectorId), Line("webhook-timestamp", "1614265330"),
                                   Line("webhook-signature", standard), Line("X-FraiseQL-Signature-256", fraiseql)));

  // A receiver holding either key alone accepts the delivery.
  for (std::string_view secret : {kVectorSecret, kSecondSecret}) {
    const Secret key{std::string(secret)};
    EXPECT_TRUE(VerifyStandardSignature(standard, kVectorId, "1614265330", kVectorBody, key)) << secret;
    EXPECT_TRUE(VerifyFraiseqlSignature(fraiseql, kVectorBody, key, kVectorTimestamp, seconds(300))) << secret;
  }
  EXPECT_FALSE(VerifyStandardSignature(standard, kVectorId, "1614265330", kVectorBody, Secret("third-key")));
  EXPECT_FALSE(VerifyFraiseqlSignature(fraiseql, kVectorBody, Secret("third-key"), kVectorTimestamp, seconds(0)));
}

TEST(SignWebhookTest, UnprefixedSecretIsAStandardKeyAsRawBytes) {
  const std::vector<HttpHeaderLine> headers = SignVector({Secret(std::string(kSecondSecret))}, Scheme::kStandard);
  ASSERT_EQ(headers.size(), 3u);
  EXPECT_EQ(headers[2], Line("webhook-signature", kSecondStandard));
}

TEST(SignWebhookTest, WithoutSecretsOnlyIdAndTimestampAreSent) {
  for (Scheme scheme : {Scheme::kStandard, Scheme::kFraiseql, Scheme::kBoth}) {
    EXPECT_THAT(SignVector({}, scheme),
                ElementsAre(Line("webhook-id", kVectorId), Line("webhook-timestamp", "1614265330")));
  }
}

TEST(SignWebhookTest, SignsBodyBytesExactlyIncludingNulAndHighBytes) {
  const std::string body("a\0b\xff" "c", 5);
  const std::vector<Secret> secrets = {Secret("raw-key")};
  Result<std::vector<HttpHeaderLine>> headers = SignWebhook("d-1", 0, body, secrets, Scheme::kBoth);
  ASSERT_TRUE(headers.has_value());
  // python3 -c "import hmac,hashlib,base64; k=b'raw-key'; b=b'a\x00b\xffc';
  //   print(base64.b64encode(hmac.new(k, b'd-1.0.'+b, hashlib.sha256).digest()),
  //         hmac.new(k, b'0.'+b, hashlib.sha256).hexdigest())"
  EXPECT_THAT(*headers,
              ElementsAre(Line("webhook-id", "d-1"), Line("webhook-timestamp", "0"),
                          Line("webhook-signature", "v1,Cui7CmR4T7H+dZY6zMHGMZEzLrtucp51Ua+dGUTwf6E="),
                          Line("X-FraiseQL-Signature-256",
                               "t=0,v1=f9e11ffb6efc7a34041edfa8b9c203df0b87a1c2dff9c68512d3576fa498e93d")));
}

TEST(SignWebhookTest, InvalidWhsecSecretIsAnErrorNamingItsPositionNotItsValue) {
  const std::string bad = "whsec_sup3r-s3cret*value";
  const std::vector<Secret> secrets = {Secret(std::string(kSecondSecret)), Secret(bad)};
  Result<std::vector<HttpHeaderLine>> headers = SignWebhook(kVectorId, kVectorTimestamp, kVectorBody, secrets,
                                                            Scheme::kBoth);
  ASSERT_FALSE(headers.has_value());
  EXPECT_EQ(headers.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(headers.error().message,
            "signing secret #2: the part of the signing secret after \"whsec_\" is not valid base64");
  EXPECT_THAT(headers.error().message, Not(HasSubstr("sup3r")));
  EXPECT_THAT(headers.error().message, Not(HasSubstr(std::string(kSecondSecret))));
}

TEST(SignWebhookTest, WhsecSecretIsNotDecodedForTheFraiseqlScheme) {
  // The FraiseQL/Stripe key is the string verbatim, so a non-base64 "whsec_" secret is fine there.
  const std::vector<Secret> secrets = {Secret("whsec_not*base64")};
  Result<std::vector<HttpHeaderLine>> headers = SignWebhook("d-1", 5, "{}", secrets, Scheme::kFraiseql);
  ASSERT_TRUE(headers.has_value());
  ASSERT_EQ(headers->size(), 3u);
  EXPECT_TRUE(VerifyFraiseqlSignature((*headers)[2].value, "{}", secrets[0], 5, seconds(0)));
}

TEST(SignWebhookTest, EmptySecretIsAnError) {
  const std::vector<Secret> secrets = {Secret("k"), Secret("")};
  Result<std::vector<HttpHeaderLine>> headers = SignWebhook("d-1", 5, "{}", secrets, Scheme::kFraiseql);
  ASSERT_FALSE(headers.has_value());
  EXPECT_EQ(headers.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(headers.error().message, "signing secret #2 is empty");
}

TEST(SignWebhookTest, DeliveryIdThatWouldBreakTheSignedContentIsRejected) {
  for (std::string_view id : {"", "a.b", "a b", "a\r\nx: y"}) {
    Result<std::vector<HttpHeaderLine>> headers = SignWebhook(id, 5, "{}", {}, Scheme::kBoth);
    ASSERT_FALSE(headers.has_value()) << id;
    EXPECT_EQ(headers.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(headers.error().message,
              "webhook delivery id must be non-empty, without '.', spaces or control characters");
  }
}

TEST(SignWebhookTest, RetryKeepsTheIdButSignsTheNewTimestamp) {
  const std::vector<Secret> secrets = {Secret("k")};
  Result<std::vector<HttpHeaderLine>> first = SignWebhook("d-1", 100, "{}", secrets, Scheme::kStandard);
  Result<std::vector<HttpHeaderLine>> retry = SignWebhook("d-1", 160, "{}", secrets, Scheme::kStandard);
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(retry.has_value());
  EXPECT_EQ((*retry)[0], Line("webhook-id", "d-1"));
  EXPECT_EQ((*retry)[1], Line("webhook-timestamp", "160"));
  EXPECT_NE((*first)[2].value, (*retry)[2].value);
  EXPECT_TRUE(VerifyStandardSignature((*retry)[2].value, "d-1", "160", "{}", secrets[0]));
}

// ---- Verification ----

TEST(VerifyStandardSignatureTest, AcceptsThePublishedVectorAmongOtherEntries) {
  const Secret secret{std::string(kVectorSecret)};
  EXPECT_TRUE(VerifyStandardSignature(kVectorSignature, kVectorId, "1614265330", kVectorBody, secret));
  // Unknown versions and bad entries beside the good one are ignored.
  const std::string mixed = "v1a,hnO3f9T8Ytu v1,bm9wZQ== junk " + std::string(kVectorSignature);
  EXPECT_TRUE(VerifyStandardSignature(mixed, kVectorId, "1614265330", kVectorBody, secret));
}

TEST(VerifyStandardSignatureTest, RejectsTamperedBodyIdTimestampOrSignature) {
  const Secret secret{std::string(kVectorSecret)};
  EXPECT_FALSE(VerifyStandardSignature(kVectorSignature, kVectorId, "1614265330", R"({"test": 2432232315})", secret));
  EXPECT_FALSE(VerifyStandardSignature(kVectorSignature, kVectorId, "1614265331", kVectorBody, secret));
  EXPECT_FALSE(VerifyStandardSignature(kVectorSignature, "msg_other", "1614265330", kVectorBody, secret));
  EXPECT_FALSE(VerifyStandardSignature("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OF=", kVectorId, "1614265330",
                                       kVectorBody, secret));
  EXPECT_FALSE(VerifyStandardSignature("v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", kVectorId, "1614265330",
                                       kVectorBody, secret));
  EXPECT_FALSE(VerifyStandardSignature("", kVectorId, "1614265330", kVectorBody, secret));
}

TEST(VerifyStandardSignatureTest, RejectsWrongOrUnusableSecret) {
  EXPECT_FALSE(VerifyStandardSignature(kVectorSignature, kVectorId, "1614265330", kVectorBody,
                                       Secret("whsec_Zm9vYmFy")));
  EXPECT_FALSE(VerifyStandardSignature(kVectorSignature, kVectorId, "1614265330", kVectorBody,
                                       Secret("whsec_***")));
  // The raw string of a whsec_ secret is not its key.
  EXPECT_FALSE(VerifyStandardSignature(kVectorSignature, kVectorId, "1614265330", kVectorBody,
                                       Secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")));
}

TEST(VerifyFraiseqlSignatureTest, RejectsTamperedBodyTimestampOrSignature) {
  const Secret secret{std::string(kVectorSecret)};
  const std::string header = FraiseqlValue(kVectorFraiseqlHex);
  EXPECT_TRUE(VerifyFraiseqlSignature(header, kVectorBody, secret, kVectorTimestamp, seconds(0)));
  EXPECT_FALSE(VerifyFraiseqlSignature(header, R"({"test": 2432232315})", secret, kVectorTimestamp, seconds(0)));
  EXPECT_FALSE(VerifyFraiseqlSignature("t=1614265331,v1=" + std::string(kVectorFraiseqlHex), kVectorBody, secret,
                                       kVectorTimestamp, seconds(0)));
  std::string upper(kVectorFraiseqlHex);
  for (char& c : upper) c = (c >= 'a' && c <= 'f') ? static_cast<char>(c - 'a' + 'A') : c;
  EXPECT_FALSE(VerifyFraiseqlSignature("t=1614265330,v1=" + upper, kVectorBody, secret, kVectorTimestamp,
                                       seconds(0)));
}

TEST(VerifyFraiseqlSignatureTest, IgnoresOtherSchemesAndRejectsMalformedHeaders) {
  const Secret secret{std::string(kVectorSecret)};
  const std::string hex(kVectorFraiseqlHex);
  EXPECT_TRUE(VerifyFraiseqlSignature("t=1614265330,v0=abcd,v1=00,v1=" + hex, kVectorBody, secret, 0, seconds(0)));
  EXPECT_FALSE(VerifyFraiseqlSignature("v1=" + hex, kVectorBody, secret, 0, seconds(0)));         // no t
  EXPECT_FALSE(VerifyFraiseqlSignature("t=1614265330", kVectorBody, secret, 0, seconds(0)));      // no v1
  EXPECT_FALSE(VerifyFraiseqlSignature("t=16142653x0,v1=" + hex, kVectorBody, secret, 0, seconds(0)));
  EXPECT_FALSE(VerifyFraiseqlSignature("t=,v1=" + hex, kVectorBody, secret, 0, seconds(0)));
  EXPECT_FALSE(VerifyFraiseqlSignature("", kVectorBody, secret, 0, seconds(0)));
}

TEST(VerifyFraiseqlSignatureTest, ToleranceBoundsTheAgeBothWaysAndZeroDisablesIt) {
  const Secret secret{std::string(kVectorSecret)};
  const std::string header = FraiseqlValue(kVectorFraiseqlHex);
  EXPECT_TRUE(VerifyFraiseqlSignature(header, kVectorBody, secret, kVectorTimestamp + 300, seconds(300)));
  EXPECT_FALSE(VerifyFraiseqlSignature(header, kVectorBody, secret, kVectorTimestamp + 301, seconds(300)));
  EXPECT_TRUE(VerifyFraiseqlSignature(header, kVectorBody, secret, kVectorTimestamp - 300, seconds(300)));
  EXPECT_FALSE(VerifyFraiseqlSignature(header, kVectorBody, secret, kVectorTimestamp - 301, seconds(300)));
  EXPECT_TRUE(VerifyFraiseqlSignature(header, kVectorBody, secret, kVectorTimestamp + 1000000, seconds(0)));
  // Extreme clocks do not overflow the age computation.
  EXPECT_FALSE(VerifyFraiseqlSignature(header, kVectorBody, secret, INT64_MIN, seconds(300)));
  EXPECT_FALSE(VerifyFraiseqlSignature(header, kVectorBody, secret, INT64_MAX, seconds(300)));
}

}  // namespace
}  // namespace fraiseql
