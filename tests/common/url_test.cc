#include "common/url.h"

#include <string>

#include <gtest/gtest.h>

namespace fraiseql {
namespace {

TEST(SplitUrlTest, SplitsEveryPart) {
  const std::optional<UrlParts> parts = SplitUrl("https://user:pw@Example.com:8443/a/b?x=1&y=2#frag");
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->scheme, "https");
  EXPECT_EQ(parts->userinfo, std::optional<std::string_view>("user:pw"));
  EXPECT_EQ(parts->host, "Example.com");
  EXPECT_EQ(parts->port, std::optional<std::string_view>("8443"));
  EXPECT_EQ(parts->path, "/a/b");
  EXPECT_EQ(parts->query, std::optional<std::string_view>("x=1&y=2"));
  EXPECT_EQ(parts->fragment, std::optional<std::string_view>("frag"));
}

TEST(SplitUrlTest, KeepsIpv6BracketsAndTheLastAt) {
  std::optional<UrlParts> parts = SplitUrl("http://[::1]:9000");
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->host, "[::1]");
  EXPECT_EQ(parts->port, std::optional<std::string_view>("9000"));
  EXPECT_EQ(parts->path, "");
  parts = SplitUrl("http://a@b@host/");
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->userinfo, std::optional<std::string_view>("a@b"));
  EXPECT_EQ(parts->host, "host");
}

TEST(SplitUrlTest, NeedsASchemeAndSlashes) {
  EXPECT_FALSE(SplitUrl("example.com/x"));
  EXPECT_FALSE(SplitUrl("://host"));
  EXPECT_FALSE(SplitUrl("1http://host"));
  EXPECT_FALSE(SplitUrl("mailto:a@b"));
}

TEST(IsCredentialNameTest, MatchesCredentialWordsInAnyCaseAndEncoding) {
  for (const char* name : {"token", "access_token", "api_key", "apiKey", "X-Amz-Signature", "sig", "SECRET",
                           "password", "passwd", "pwd", "auth", "authorization", "X-Amz-Credential",
                           "session_id", "%74oken", "client+secret"}) {
    EXPECT_TRUE(IsCredentialName(name)) << name;
  }
  for (const char* name : {"page", "id", "format", "limit", "q", ""}) {
    EXPECT_FALSE(IsCredentialName(name)) << name;
  }
}

TEST(RedactUrlTest, RedactsUserinfoAlways) {
  EXPECT_EQ(RedactUrl("https://user:password@host/path"), "https://<redacted>@host/path");
  EXPECT_EQ(RedactUrl("https://justatoken@host"), "https://<redacted>@host");
  EXPECT_EQ(RedactUrl("https://:pw@host:8443/"), "https://<redacted>@host:8443/");
  EXPECT_EQ(RedactUrl("https://a@b@host/"), "https://<redacted>@host/");
}

TEST(RedactUrlTest, RedactsCredentialQueryValuesAndKeepsTheRest) {
  EXPECT_EQ(RedactUrl("https://host/hook?token=abc&page=2&Signature=xyz;sig=1"),
            "https://host/hook?token=<redacted>&page=2&Signature=<redacted>;sig=<redacted>");
  EXPECT_EQ(RedactUrl("https://host/?api%5Fkey=abc&flag&key="),
            "https://host/?api%5Fkey=<redacted>&flag&key=<redacted>");
  EXPECT_EQ(RedactUrl("https://host/cb#access_token=abc&state=s"), "https://host/cb#access_token=<redacted>&state=s");
}

TEST(RedactUrlTest, LeavesAUrlWithoutSecretsAlone) {
  for (const char* url : {"https://example.com/hooks/orders?page=2", "http://[::1]:8080/x", "https://host",
                          "https://host/a@b"}) {
    EXPECT_EQ(RedactUrl(url), url);
  }
}

TEST(RedactUrlTest, RedactsTextThatIsNotQuiteAUrl) {
  EXPECT_EQ(RedactUrl("user:pw@host/path?secret=1"), "<redacted>@host/path?secret=<redacted>");
  EXPECT_EQ(RedactUrl("ftp//user:pw@host"), "ftp//user:pw@host");  // an '@' only after a '/'
}

TEST(RedactUrlTest, IsIdempotent) {
  for (const char* url : {"https://u:p@host/?token=abc&x=1", "https://host/?key=<redacted>", "plain"}) {
    const std::string once = RedactUrl(url);
    EXPECT_EQ(RedactUrl(once), once) << url;
  }
}

TEST(RedactUrlsInTest, RedactsEveryUrlInFreeText) {
  EXPECT_EQ(RedactUrlsIn("Failed to connect to https://u:p@host:81/x?token=t after 3 ms; retried "
                         "http://other/?password=q"),
            "Failed to connect to https://<redacted>@host:81/x?token=<redacted> after 3 ms; retried "
            "http://other/?password=<redacted>");
  EXPECT_EQ(RedactUrlsIn("url \"https://u:p@h/\" refused"), "url \"https://<redacted>@h/\" refused");
  EXPECT_EQ(RedactUrlsIn("(https://u:p@h)"), "(https://<redacted>@h)");
}

TEST(RedactUrlsInTest, LeavesOtherTextAlone) {
  for (const char* text : {"HTTP 503 Service Unavailable (retryable)", "a :// b", "alice@example.com", ""}) {
    EXPECT_EQ(RedactUrlsIn(text), text);
  }
}

TEST(CheckSendableUrlTest, AcceptsWhatTheEngineSendsTo) {
  for (const char* url : {"https://example.com/hook", "HTTP://Example.COM:8080/a?b=c#d", "http://[::1]:9000/",
                          "http://[fe80::1%25eth0]/", "https://user:pw@host/", "https://exa_mple.com",
                          "https://bücher.example/", "http://host:/x"}) {
    EXPECT_TRUE(CheckSendableUrl(url)) << url;
  }
}

TEST(CheckSendableUrlTest, RefusesWhatCanNeverBeSentAndNeverQuotesIt) {
  const struct {
    const char* url;
    const char* reason;
  } cases[] = {
      {"", "empty"},
      {"https://", "no host"},
      {"https:///path", "no host"},
      {"https://ho st/", "space or control character at byte 11"},
      {"https://host/a\tb", "space or control character"},
      {"ftp://user:secret@host/", "scheme is 'ftp'"},
      {"example.com/hook", "not absolute"},
      {"https://host:99999/", "port is not a number from 1 to 65535"},
      {"https://host:0/", "port is not a number from 1 to 65535"},
      {"https://user:secretpw/x", "port is not a number"},
      {"https://ho^st/", "cannot be in a host name"},
      {"https://[::1/", "not a valid [IPv6] literal"},
      {"https://[zz::1]/", "not a valid [IPv6] literal"},
  };
  for (const auto& c : cases) {
    Result<void> checked = CheckSendableUrl(c.url);
    ASSERT_FALSE(checked) << c.url;
    EXPECT_NE(checked.error().message.find(c.reason), std::string::npos) << c.url << ": " << checked.error().message;
    EXPECT_EQ(checked.error().message.find("secret"), std::string::npos) << checked.error().message;
  }
}

}  // namespace
}  // namespace fraiseql
