// Load-time checks of what would otherwise fail every delivery or the daemon's start, and
// diagnostics that quote the file, never a value from the environment (issue 10, section 5).
#include <string>

#include "config_test_util.h"

namespace fraiseql {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::AllDiagnostics;
using testing::kMinimalObserver;
using testing::Load;
using testing::OnlyError;

// An observer with one action, given as the inline table's keys; the action is on line 5.
LoadResult LoadAction(const std::string& action_keys, std::map<std::string, std::string> env = {}) {
  return Load("\n[[observers]]\nentity = \"Order\"\nevent_type = \"INSERT\"\nactions = [{ " + action_keys + " }]\n",
              std::move(env));
}

LoadResult LoadSection(const std::string& section, std::map<std::string, std::string> env = {}) {
  return Load(std::string(kMinimalObserver) + section, std::move(env));
}

// ---- ${VAR} values are never echoed: diagnostics quote the file ----

TEST(ConfigEnvironmentInDiagnostics, ConditionErrorQuotesTheFileNotTheValue) {
  LoadResult result = Load(R"x(
[[observers]]
name = "orders"
entity = "Order"
event_type = "INSERT"
condition = "status == ${WANTED}"
actions = [{ type = "log", message_template = "x" }]
)x",
                           {{"WANTED", "hunter2 topsecret"}});
  const Diagnostic error = OnlyError(result);
  EXPECT_EQ(error.location.line, 6u);
  EXPECT_EQ(error.location.column, 13u);
  EXPECT_THAT(error.message, AllOf(HasSubstr("condition of observer 'orders' (\"status == ${WANTED}\")"),
                                   HasSubstr("does not compile"), HasSubstr("withheld")));
  EXPECT_THAT(AllDiagnostics(result), AllOf(Not(HasSubstr("hunter2")), Not(HasSubstr("topsecret"))));
}

TEST(ConfigEnvironmentInDiagnostics, ConditionWarningIsWithheldToo) {
  // The issue's case: a bare word from the variable would be quoted as "bare word '<value>'".
  LoadResult result = Load(R"x(
[[observers]]
name = "orders"
entity = "Order"
event_type = "INSERT"
condition = "status == ${WANTED}"
actions = [{ type = "log", message_template = "x" }]
)x",
                           {{"WANTED", "shipped"}});
  ASSERT_TRUE(result.ok()) << AllDiagnostics(result);
  ASSERT_EQ(result.warning_count(), 1u) << AllDiagnostics(result);
  EXPECT_THAT(result.diagnostics[0].message, AllOf(HasSubstr("\"status == ${WANTED}\""), HasSubstr("1 warning")));
  EXPECT_THAT(AllDiagnostics(result), Not(HasSubstr("shipped")));
  EXPECT_TRUE(result.config->observers[0].condition_from_environment);

  // The same condition written in the file keeps the parser's own words.
  LoadResult literal = Load(R"x(
[[observers]]
entity = "Order"
event_type = "INSERT"
condition = "status == shipped"
actions = [{ type = "log", message_template = "x" }]
)x");
  EXPECT_THAT(AllDiagnostics(literal), HasSubstr("bare word 'shipped'"));
}

TEST(ConfigEnvironmentInDiagnostics, ObserverNamesFromTheEnvironmentAreQuotedAsWritten) {
  LoadResult result = Load(R"x(
[[observers]]
name = "${FIRST}"
event_type = "INSERT"
actions = [{ type = "log", message_template = "x" }]

[[observers]]
name = "${SECOND}"
entity = "Order"
event_type = "INSERT"
actions = [{ type = "log", message_template = "x" }]
)x",
                           {{"FIRST", "dup-hunter2"}, {"SECOND", "dup-hunter2"}});
  const std::string text = AllDiagnostics(result);
  EXPECT_EQ(result.error_count(), 2u) << text;
  EXPECT_THAT(text, HasSubstr("observer \"${FIRST}\" needs 'entity'"));
  EXPECT_THAT(text, HasSubstr("observer name \"${SECOND}\" is used twice"));
  EXPECT_THAT(text, Not(HasSubstr("hunter2")));
}

TEST(ConfigEnvironmentInDiagnostics, FunctionNameActionTypeAndAddressesQuoteTheFile) {
  LoadResult function = LoadAction("type = \"database\", function_name = \"${FN}\"", {{"FN", "drop hunter2"}});
  EXPECT_THAT(OnlyError(function).message, HasSubstr("'observers[0].actions[0].function_name' is \"${FN}\""));
  EXPECT_THAT(AllDiagnostics(function), Not(HasSubstr("hunter2")));

  // No "did you mean": it would say what the value nearly is.
  LoadResult type = LoadAction("type = \"${KIND}\"", {{"KIND", "webhok"}});
  EXPECT_THAT(OnlyError(type).message, HasSubstr("unknown action type \"${KIND}\""));
  EXPECT_THAT(AllDiagnostics(type), AllOf(Not(HasSubstr("webhok")), Not(HasSubstr("did you mean"))));

  LoadResult address = LoadAction("type = \"email\", to = \"${TO}\", subject = \"s\", body_template = \"b\"",
                                  {{"TO", "hunter2-no-at-sign"}});
  EXPECT_THAT(OnlyError(address).message, HasSubstr("\"${TO}\" is not an email address"));
  EXPECT_THAT(AllDiagnostics(address), Not(HasSubstr("hunter2")));
}

TEST(ConfigEnvironmentInDiagnostics, TemplateWarningsFromTheEnvironmentAreWithheld) {
  LoadResult result = LoadAction("type = \"log\", message_template = \"{{ ${FIELD} }}\"", {{"FIELD", "data..hunter2"}});
  ASSERT_TRUE(result.ok()) << AllDiagnostics(result);
  ASSERT_EQ(result.warning_count(), 1u) << AllDiagnostics(result);
  EXPECT_THAT(result.diagnostics[0].message, AllOf(HasSubstr("\"{{ ${FIELD} }}\""), HasSubstr("never resolve")));
  EXPECT_THAT(AllDiagnostics(result), Not(HasSubstr("hunter2")));
}

TEST(ConfigEnvironmentInDiagnostics, UrlsInDiagnosticsAreRedacted) {
  LoadResult literal = LoadAction("type = \"webhook\", url = \"ftp://user:hunter2@host/x?token=abc123&page=2\"");
  const std::string text = AllDiagnostics(literal);
  EXPECT_THAT(text, HasSubstr("\"ftp://<redacted>@host/x?token=<redacted>&page=2\""));
  EXPECT_THAT(text, AllOf(Not(HasSubstr("hunter2")), Not(HasSubstr("abc123"))));

  LoadResult partly = LoadAction("type = \"webhook\", url = \"https://user:hunter2@${HOST}:99999/\"", {{"HOST", "h"}});
  EXPECT_THAT(OnlyError(partly).message, HasSubstr("\"https://<redacted>@${HOST}:99999/\": the URL's port"));
  EXPECT_THAT(AllDiagnostics(partly), Not(HasSubstr("hunter2")));

  LoadResult nats = LoadSection("[transport.nats]\nurl = \"http://user:hunter2@b:4222\"\n");
  EXPECT_THAT(AllDiagnostics(nats), HasSubstr("\"http://<redacted>@b:4222\" must start with nats://"));
  EXPECT_THAT(AllDiagnostics(nats), Not(HasSubstr("hunter2")));
}

// ---- Signing secrets ----

TEST(ConfigSigningSecrets, WhsecWhoseRestIsNotBase64IsRefusedAtItsPosition) {
  LoadResult result = LoadAction("type = \"webhook\", url = \"https://a\", signing_secret = \"whsec_not*base64!\"");
  const Diagnostic error = OnlyError(result);
  EXPECT_EQ(error.location.line, 5u);
  EXPECT_EQ(error.location.column, 68u);
  EXPECT_THAT(error.message, AllOf(HasSubstr("the signing secret cannot sign the Standard Webhooks scheme"),
                                   HasSubstr("not valid base64"), HasSubstr("signature_scheme = \"fraiseql\"")));
  EXPECT_THAT(error.message, Not(HasSubstr("not*base64")));
}

TEST(ConfigSigningSecrets, EachSecretOfAListAndFromTheEnvironmentIsChecked) {
  LoadResult list = LoadAction(
      "type = \"webhook\", url = \"https://a\", signing_secret = [\"whsec_Zm9vYmFy\", \"whsec_\", \"plain\"]");
  EXPECT_THAT(OnlyError(list).message, AllOf(HasSubstr("signing secret #2"), HasSubstr("nothing after \"whsec_\"")));

  LoadResult env = LoadAction("type = \"webhook\", url = \"https://a\", signing_secret_env = [\"OLD\", \"NEW\"]",
                              {{"OLD", "whsec_Zm9vYmFy"}, {"NEW", "whsec_hunter2!"}});
  EXPECT_THAT(OnlyError(env).message, HasSubstr("signing secret #2 (the value of $NEW)"));
  EXPECT_THAT(AllDiagnostics(env), Not(HasSubstr("hunter2")));
}

TEST(ConfigSigningSecrets, TheFraiseqlSchemeUsesTheSecretVerbatim) {
  LoadResult result = LoadAction(
      "type = \"webhook\", url = \"https://a\", signing_secret = \"whsec_not*base64!\", "
      "signature_scheme = \"fraiseql\"");
  ASSERT_TRUE(result.ok()) << AllDiagnostics(result);
  for (const char* scheme : {"standard", "both"}) {
    LoadResult refused = LoadAction("type = \"webhook\", url = \"https://a\", signing_secret = \"whsec_x\", "
                                    "signature_scheme = \"" + std::string(scheme) + "\"");
    EXPECT_EQ(refused.error_count(), 1u) << scheme << AllDiagnostics(refused);
  }
}

TEST(ConfigSigningSecrets, SecretAndSecretEnvTogetherAreAnError) {
  LoadResult result = LoadAction("type = \"webhook\", url = \"https://a\", signing_secret = \"s\", "
                                 "signing_secret_env = \"S\"",
                                 {{"S", "t"}});
  const Diagnostic error = OnlyError(result);
  EXPECT_THAT(error.message, HasSubstr("give either 'observers[0].actions[0].signing_secret' or"));
  EXPECT_EQ(error.location.line, 5u);
}

// ---- URLs, headers and addresses that could never be sent to ----

TEST(ConfigLoadTimeChecks, WebhookAndSlackUrlsMustBeSendable) {
  const struct {
    const char* url;
    const char* reason;
  } cases[] = {
      {"https://", "has no host"},
      {"https://exa mple.com/", "space or control character"},
      {"https://example.com:70000/", "port is not a number from 1 to 65535"},
      {"https://ex^ample.com/", "cannot be in a host name"},
      {"example.com/hook", "not absolute"},
  };
  for (const auto& c : cases) {
    LoadResult webhook = LoadAction("type = \"webhook\", url = \"" + std::string(c.url) + "\"");
    const Diagnostic error = OnlyError(webhook);
    EXPECT_THAT(error.message, AllOf(HasSubstr("'observers[0].actions[0].url' is"), HasSubstr(c.reason))) << c.url;
    EXPECT_EQ(error.location.line, 5u) << c.url;
    LoadResult slack = LoadAction("type = \"slack\", webhook_url_env = \"SLACK\"", {{"SLACK", c.url}});
    EXPECT_THAT(OnlyError(slack).message, AllOf(HasSubstr("the value of $SLACK"), HasSubstr(c.reason))) << c.url;
  }
  EXPECT_TRUE(LoadAction("type = \"webhook\", url = \"https://user:pw@[::1]:8443/h?token=t\"").ok());
}

// A Slack incoming-webhook URL is a credential as a whole (its path is the secret): a message
// about one written in the file names the key, never the URL.
TEST(ConfigLoadTimeChecks, ASlackUrlIsNeverQuoted) {
  LoadResult result = LoadAction("type = \"slack\", webhook_url = \"https://hooks.slack.com:0/services/T0/B0/hunter2\"");
  EXPECT_THAT(OnlyError(result).message,
              AllOf(HasSubstr("'observers[0].actions[0].webhook_url' (not shown: it is a credential)"),
                    HasSubstr("port is not a number")));
  EXPECT_THAT(AllDiagnostics(result), AllOf(Not(HasSubstr("hunter2")), Not(HasSubstr("slack.com"))));
}

TEST(ConfigLoadTimeChecks, HeadersTheProductSetsCannotBeConfigured) {
  LoadResult result = LoadAction(
      "type = \"webhook\", url = \"https://a\", "
      "headers = { \"Webhook-Signature\" = \"v1,x\", \"content-length\" = \"1\" }");
  EXPECT_EQ(result.error_count(), 2u) << AllDiagnostics(result);
  EXPECT_THAT(AllDiagnostics(result), HasSubstr("header 'Webhook-Signature' is set by fraiseql-observer"));
}

TEST(ConfigLoadTimeChecks, EmailAddressesFollowTheActionsRule) {
  for (const char* address :
       {"a b@example.com", "<a@example.com", "a@", "@example.com", "a@example.com, b@example.com"}) {
    LoadResult result = LoadAction("type = \"email\", to = \"" + std::string(address) +
                                   "\", subject = \"s\", body_template = \"b\"");
    EXPECT_THAT(OnlyError(result).message, HasSubstr("is not an email address")) << address;
  }
  LoadResult named = LoadAction("type = \"email\", to = \"Ops <ops@example.com>\", reply_to = \"r@example.com\", "
                                "subject = \"s\", body_template = \"b\"");
  EXPECT_EQ(named.error_count(), 0u) << AllDiagnostics(named);
}

TEST(ConfigLoadTimeChecks, EmailSectionFromAndHost) {
  const std::string tail = "port = 25\ntls = \"none\"\n";
  EXPECT_THAT(OnlyError(LoadSection("[email]\nhost = \"smtp.example.com\"\nfrom = \"alerts\"\n" + tail)).message,
              HasSubstr("'[email].from' is \"alerts\"; it must be an email address"));
  for (const char* host : {"smtp.example.com:25", "smtp.example.com/x", "user@smtp.example.com", "sm tp"}) {
    LoadResult result = LoadSection("[email]\nhost = \"" + std::string(host) + "\"\nfrom = \"a@example.com\"\n" + tail);
    EXPECT_THAT(OnlyError(result).message, HasSubstr("'[email].host' is")) << host;
  }
  for (const char* host : {"smtp.example.com", "127.0.0.1", "::1", "[::1]"}) {
    LoadResult result = LoadSection("[email]\nhost = \"" + std::string(host) + "\"\nfrom = \"a@example.com\"\n" + tail);
    EXPECT_TRUE(result.ok()) << host << AllDiagnostics(result);
  }
}

TEST(ConfigLoadTimeChecks, MetricsListenPortAndHost) {
  for (const char* listen : {"127.0.0.1:99999", "127.0.0.1:", ":9464", "::1:9464", "[]:9464", "h:12345678"}) {
    LoadResult result = LoadSection("[metrics]\nlisten = \"" + std::string(listen) + "\"\n");
    EXPECT_THAT(OnlyError(result).message, HasSubstr("'[metrics].listen'")) << listen;
  }
  for (const char* listen : {"127.0.0.1:9464", "[::1]:9464", "0.0.0.0:0", "localhost:65535"}) {
    LoadResult result = LoadSection("[metrics]\nlisten = \"" + std::string(listen) + "\"\n");
    EXPECT_TRUE(result.ok()) << listen << AllDiagnostics(result);
  }
}

TEST(ConfigLoadTimeChecks, DatabaseUrlMustBeOneLibpqReadsAndIsNeverQuoted) {
  for (const char* url : {"mysql://root:hunter2@db/app", "db.example.com:5432/app"}) {
    LoadResult result = LoadSection("[database]\nurl = \"" + std::string(url) + "\"\n");
    EXPECT_THAT(OnlyError(result).message, HasSubstr("'[database].url'")) << url;
    EXPECT_THAT(AllDiagnostics(result), Not(HasSubstr("hunter2")));
  }
  LoadResult from_env = LoadSection("[database]\nurl_env = \"PG\"\n", {{"PG", "mysql://x"}});
  EXPECT_EQ(OnlyError(from_env).location.line, 10u);
  for (const char* url : {"postgresql://u:p@h/db", "POSTGRES://h/db", "host=h dbname=d"}) {
    EXPECT_TRUE(LoadSection("[database]\nurl = \"" + std::string(url) + "\"\n").ok()) << url;
  }
}

TEST(ConfigLoadTimeChecks, ChangeLogTableIsTableOrSchemaDotTable) {
  for (const char* table : {"a.b.c", ".t", "s."}) {
    LoadResult result = LoadSection("[database]\nchange_log_table = \"" + std::string(table) + "\"\n");
    EXPECT_THAT(OnlyError(result).message, HasSubstr("expected \"table\" or \"schema.table\"")) << table;
  }
  EXPECT_TRUE(LoadSection("[database]\nchange_log_table = \"events\"\n").ok());
}

}  // namespace
}  // namespace fraiseql
