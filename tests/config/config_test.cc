// Observers, actions, conditions and templates as the config loader reads them.
#include "config_test_util.h"

namespace fraiseql {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::AllDiagnostics;
using testing::kMinimalObserver;
using testing::Load;
using testing::OnlyError;

TEST(ConfigObservers, MinimalObserverLoadsWithDefaults) {
  LoadResult result = Load(kMinimalObserver);
  ASSERT_TRUE(result.ok()) << AllDiagnostics(result);
  ASSERT_EQ(result.config->observers.size(), 1u);
  const ObserverConfig& observer = result.config->observers[0];
  EXPECT_EQ(observer.name, "order_insert_0");
  EXPECT_EQ(observer.entity, "Order");
  EXPECT_EQ(observer.event_kinds, EventKindSet::Of(EventKind::kInsert));
  EXPECT_EQ(observer.on_failure, FailurePolicy::kDlq);
  EXPECT_TRUE(observer.enabled);
  EXPECT_FALSE(observer.condition.has_value());
  EXPECT_EQ(observer.retry, RetryPolicy{});
  EXPECT_EQ(observer.location.line, 2u);
  ASSERT_EQ(observer.actions.size(), 1u);
  EXPECT_EQ(observer.actions[0].type, ActionType::kLog);
  EXPECT_EQ(observer.actions[0].timeout, std::chrono::milliseconds(30000));
}

TEST(ConfigObservers, MapFormTakesNamesFromKeys) {
  LoadResult result = Load(R"x(
[observers.shipped_mail]
entity = "Order"
event_type = "UPDATE"
actions = [{ type = "log", message_template = "x" }]

[observers.audit]
entity = "*"
event_type = "*"
actions = [{ type = "log", message_template = "y" }]
)x");
  ASSERT_TRUE(result.ok()) << AllDiagnostics(result);
  ASSERT_EQ(result.config->observers.size(), 2u);
  EXPECT_EQ(result.config->observers[0].name, "shipped_mail");
  EXPECT_EQ(result.config->observers[1].name, "audit");
  EXPECT_TRUE(result.config->observers[1].event_kinds.IsAll());
}

TEST(ConfigObservers, MapFormRejectsNameKey) {
  LoadResult result = Load(R"x(
[observers.a]
name = "b"
entity = "Order"
event_type = "UPDATE"
actions = [{ type = "log", message_template = "x" }]
)x");
  Diagnostic error = OnlyError(result);
  EXPECT_THAT(error.message, HasSubstr("takes its name from the table key"));
  EXPECT_EQ(error.location.line, 3u);
}

TEST(ConfigObservers, DerivedNamesUseEntityKindsAndIndex) {
  LoadResult result = Load(R"x(
[[observers]]
entity = "Order Line"
event_type = ["INSERT", "update"]
actions = [{ type = "log", message_template = "x" }]

[[observers]]
entity = "*"
event_type = "*"
actions = [{ type = "log", message_template = "x" }]
)x");
  ASSERT_TRUE(result.ok()) << AllDiagnostics(result);
  EXPECT_EQ(result.config->observers[0].name, "order_line_insert_update_0");
  EXPECT_EQ(result.config->observers[1].name, "any_any_1");
}

TEST(ConfigObservers, DuplicateNamesAreAnError) {
  LoadResult result = Load(R"x(
[[observers]]
name = "same"
entity = "Order"
event_type = "INSERT"
actions = [{ type = "log", message_template = "x" }]

[[observers]]
name = "same"
entity = "Order"
event_type = "UPDATE"
actions = [{ type = "log", message_template = "x" }]
)x");
  Diagnostic error = OnlyError(result);
  EXPECT_THAT(error.message, HasSubstr("'same' is used twice"));
  EXPECT_EQ(error.location.line, 8u);
}

TEST(ConfigObservers, EventTypeFormsAndCase) {
  LoadResult result = Load(R"x(
[[observers]]
entity = "Order"
event_type = ["insert", "Delete", "CUSTOM"]
actions = [{ type = "log", message_template = "x" }]
)x");
  ASSERT_TRUE(result.ok()) << AllDiagnostics(result);
  const EventKindSet kinds = result.config->observers[0].event_kinds;
  EXPECT_TRUE(kinds.Contains(EventKind::kInsert));
  EXPECT_FALSE(kinds.Contains(EventKind::kUpdate));
  EXPECT_TRUE(kinds.Contains(EventKind::kDelete));
  EXPECT_TRUE(kinds.Contains(EventKind::kCustom));
  EXPECT_EQ(kinds.ToString(), "INSERT|DELETE|CUSTOM");
}

TEST(ConfigObservers, UnknownEventTypeSuggestsTheClosest) {
  LoadResult result = Load(R"x(
[[observers]]
entity = "Order"
event_type = "UPDTE"
actions = [{ type = "log", message_template = "x" }]
)x");
  Diagnostic error = OnlyError(result);
  EXPECT_EQ(error.location.line, 4u);
  EXPECT_EQ(error.location.column, 14u);
  EXPECT_THAT(error.message, HasSubstr("unknown event_type \"UPDTE\""));
  EXPECT_THAT(error.message, HasSubstr("did you mean \"UPDATE\"?"));
}

TEST(ConfigObservers, MissingRequiredKeysAreNamed) {
  LoadResult result = Load(R"x(
[[observers]]
condition = "total > 1"
)x");
  EXPECT_FALSE(result.ok());
  const std::string text = AllDiagnostics(result);
  EXPECT_THAT(text, HasSubstr("needs 'entity'"));
  EXPECT_THAT(text, HasSubstr("needs 'event_type'"));
  EXPECT_THAT(text, HasSubstr("has no actions"));
  EXPECT_EQ(result.error_count(), 3u);
}

TEST(ConfigObservers, UnknownKeyGetsDidYouMeanAtTheKey) {
  LoadResult result = Load(R"x(
[[observers]]
entity = "Order"
event_type = "INSERT"
conditon = "total > 1"
actions = [{ type = "log", message_template = "x" }]
)x");
  Diagnostic error = OnlyError(result);
  EXPECT_EQ(error.location, (SourceLocation{"test.toml", 5, 1}));
  EXPECT_EQ(error.message, "unknown key 'conditon' in observers[0]; did you mean 'condition'?");
  EXPECT_EQ(error.ToString(),
            "test.toml:5:1: error: unknown key 'conditon' in observers[0]; did you mean 'condition'?");
}

TEST(ConfigObservers, UnknownKeyInRetryTable) {
  LoadResult result = Load(std::string(kMinimalObserver) + R"x(
[observers.retry]
max_attempt = 4
)x");
  Diagnostic error = OnlyError(result);
  EXPECT_EQ(error.location.line, 11u);
  EXPECT_THAT(error.message, HasSubstr("observers[0].retry; did you mean 'max_attempts'?"));
}

TEST(ConfigObservers, EveryErrorOfTheFileIsReported) {
  LoadResult result = Load(R"x(
[[observers]]
entity = "Order"
event_type = "INSRT"
condition = "total >"
bogus = 1
actions = [{ type = "webhok", url = "https://x" }]

[performance]
max_in_flight = 0
)x");
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.error_count(), 5u) << AllDiagnostics(result);
  // Diagnostics come in file order.
  for (size_t i = 1; i < result.diagnostics.size(); ++i) {
    EXPECT_LE(result.diagnostics[i - 1].location.line, result.diagnostics[i].location.line);
  }
}

TEST(ConfigObservers, ConditionIsCompiledAtLoad) {
  LoadResult result = Load(R"x(
[[observers]]
entity = "Order"
event_type = "UPDATE"
condition = "data.status == 'shipped' && total > 100"
actions = [{ type = "log", message_template = "x" }]
)x");
  ASSERT_TRUE(result.ok()) << AllDiagnostics(result);
  ASSERT_TRUE(result.config->observers[0].condition.has_value());
  EXPECT_EQ(result.config->observers[0].condition->source(), "data.status == 'shipped' && total > 100");
}

TEST(ConfigObservers, ConditionSyntaxErrorPointsAtTheColumnInTheFile) {
  //                       col 14 is the opening quote; "total > " is 8 bytes long
  LoadResult result = Load(R"x(
[[observers]]
entity = "Order"
event_type = "UPDATE"
condition = "total > && status == 'x'"
actions = [{ type = "log", message_template = "x" }]
)x");
  Diagnostic error = OnlyError(result);
  EXPECT_EQ(error.location.line, 5u);
  EXPECT_EQ(error.location.column, 22u);  // the '&&' after "total > "
  EXPECT_THAT(error.message, HasSubstr("condition of observer 'order_update_0'"));
}

TEST(ConfigObservers, ConditionErrorInMultiLineString) {
  LoadResult result = Load(R"x(
[[observers]]
entity = "Order"
event_type = "UPDATE"
condition = '''
total > 100 &&
  status == '''
actions = [{ type = "log", message_template = "x" }]
)x");
  Diagnostic error = OnlyError(result);
  EXPECT_EQ(error.location.line, 7u);
  EXPECT_GE(error.location.column, 12u);
}

TEST(ConfigObservers, ConditionWarningsBecomeFileWarnings) {
  LoadResult result = Load(R"x(
[[observers]]
entity = "Order"
event_type = "UPDATE"
condition = "status == shipped"
actions = [{ type = "log", message_template = "x" }]
)x");
  ASSERT_TRUE(result.ok()) << AllDiagnostics(result);
  ASSERT_EQ(result.warning_count(), 1u);
  EXPECT_EQ(result.diagnostics[0].location.line, 5u);
  EXPECT_EQ(result.diagnostics[0].location.column, 24u);
}

TEST(ConfigObservers, RetryPolicyIsRead) {
  LoadResult result = Load(std::string(kMinimalObserver) + R"x(
[observers.retry]
max_attempts = 7
initial_delay_ms = 250
max_delay_ms = 9000
backoff_strategy = "linear"
)x");
  ASSERT_TRUE(result.ok()) << AllDiagnostics(result);
  const RetryPolicy& retry = result.config->observers[0].retry;
  EXPECT_EQ(retry.max_attempts, 7u);
  EXPECT_EQ(retry.initial_delay, std::chrono::milliseconds(250));
  EXPECT_EQ(retry.max_delay, std::chrono::milliseconds(9000));
  EXPECT_EQ(retry.backoff, BackoffStrategy::kLinear);
  EXPECT_FALSE(retry.jitter);  // jitter defaults on only for exponential
}

TEST(ConfigObservers, RetryJitterDefaultsOnForExponentialAndCanBeTurnedOff) {
  LoadResult on = Load(std::string(kMinimalObserver) + "[observers.retry]\nbackoff_strategy = \"exponential\"\n");
  ASSERT_TRUE(on.ok()) << AllDiagnostics(on);
  EXPECT_TRUE(on.config->observers[0].retry.jitter);
  LoadResult off = Load(std::string(kMinimalObserver) + "[observers.retry]\njitter = false\n");
  ASSERT_TRUE(off.ok()) << AllDiagnostics(off);
  EXPECT_FALSE(off.config->observers[0].retry.jitter);
}

TEST(ConfigObservers, RetryRejectsMaxBelowInitialAndZeroAttempts) {
  LoadResult result = Load(std::string(kMinimalObserver) + R"x(
[observers.retry]
max_attempts = 0
initial_delay_ms = 500
max_delay_ms = 100
backoff_strategy = "expo"
)x");
  EXPECT_EQ(result.error_count(), 3u) << AllDiagnostics(result);
  const std::string text = AllDiagnostics(result);
  EXPECT_THAT(text, HasSubstr("test.toml:11:16: error: 'observers[0].retry.max_attempts' is 0; it must be between 1 and 1000"));
  EXPECT_THAT(text, HasSubstr("is smaller than 'initial_delay_ms'"));
  EXPECT_THAT(text, HasSubstr("did you mean \"exponential\"?"));
}

TEST(ConfigObservers, OnFailureStringsAndDefault) {
  for (auto [text, expected] : {std::pair{"log", FailurePolicy::kLog}, {"alert", FailurePolicy::kAlert},
                                {"DLQ", FailurePolicy::kDlq}}) {
    LoadResult result = Load(R"x(
[[observers]]
entity = "Order"
event_type = "INSERT"
on_failure = ")x" + std::string(text) + R"x("
actions = [{ type = "log", message_template = "x" }]
)x");
    ASSERT_TRUE(result.ok()) << AllDiagnostics(result);
    EXPECT_EQ(result.config->observers[0].on_failure, expected) << text;
  }
}

TEST(ConfigObservers, OnFailureEmptyTableMeansDlqWithAWarning) {
  LoadResult result = Load(std::string(kMinimalObserver) + "[observers.on_failure]\n");
  ASSERT_TRUE(result.ok()) << AllDiagnostics(result);
  EXPECT_EQ(result.config->observers[0].on_failure, FailurePolicy::kDlq);
  ASSERT_EQ(result.warning_count(), 1u);
  EXPECT_THAT(result.diagnostics[0].message, HasSubstr("write on_failure = \"dlq\""));
}

TEST(ConfigObservers, DisabledObserverIsKept) {
  LoadResult result = Load(R"x(
[[observers]]
entity = "Order"
event_type = "INSERT"
enabled = false
actions = [{ type = "log", message_template = "x" }]
)x");
  ASSERT_TRUE(result.ok()) << AllDiagnostics(result);
  EXPECT_FALSE(result.config->observers[0].enabled);
}

TEST(ConfigActions, WebhookWithEverything) {
  LoadResult result = Load(R"x(
[[observers]]
entity = "Order"
event_type = "INSERT"

[[observers.actions]]
type = "webhook"
url = "https://example.com/hook"
method = "put"
headers = { "Authorization" = "Bearer abc", "X-Tenant" = "${TENANT}", "X-Plain" = "1" }
signing_secret = ["whsec_b2xkIGtleQ==", "whsec_bmV3IGtleQ==", "s3"]
signature_scheme = "standard"
timeout_ms = 5000
circuit_breaker = { window_size = 10, minimum_calls = 5 }
)x",
                           {{"TENANT", "acme"}});
  ASSERT_TRUE(result.ok()) << AllDiagnostics(result);
  const ActionConfig& action = result.config->observers[0].actions[0];
  const auto& webhook = std::get<WebhookAction>(action.spec);
  EXPECT_EQ(webhook.url, "https://example.com/hook");
  EXPECT_EQ(webhook.method, "PUT");
  ASSERT_EQ(webhook.headers.size(), 3u);
  EXPECT_EQ(webhook.headers[0].name, "Authorization");
  EXPECT_TRUE(webhook.headers[0].sensitive);   // by name
  EXPECT_EQ(webhook.headers[1].name, "X-Plain");
  EXPECT_FALSE(webhook.headers[1].sensitive);
  EXPECT_EQ(webhook.headers[2].value, "acme");
  EXPECT_TRUE(webhook.headers[2].sensitive);   // from the environment
  ASSERT_EQ(webhook.signing_secrets.size(), 3u);
  EXPECT_EQ(webhook.signing_secrets[2].Reveal(), "s3");
  EXPECT_EQ(webhook.signature_scheme, WebhookAction::SignatureScheme::kStandard);
  EXPECT_EQ(webhook.payload, WebhookAction::Payload::kEnvelope);
  EXPECT_EQ(action.timeout, std::chrono::milliseconds(5000));
  ASSERT_TRUE(action.circuit_breaker.has_value());
  EXPECT_EQ(action.circuit_breaker->window_size, 10u);
  EXPECT_EQ(action.circuit_breaker->minimum_calls, 5u);
}

TEST(ConfigActions, WebhookNeedsExactlyOneUrlSource) {
  LoadResult none = Load(R"x(
[[observers]]
entity = "Order"
event_type = "INSERT"
actions = [{ type = "webhook" }]
)x");
  EXPECT_THAT(OnlyError(none).message, HasSubstr("needs 'url' or 'url_env'"));
  LoadResult both = Load(R"x(
[[observers]]
entity = "Order"
event_type = "INSERT"
actions = [{ type = "webhook", url = "https://a", url_env = "HOOK" }]
)x",
                         {{"HOOK", "https://b"}});
  EXPECT_THAT(OnlyError(both).message, HasSubstr("either 'observers[0].actions[0].url' or"));
}

TEST(ConfigActions, UrlEnvNamesTheMissingVariable) {
  LoadResult result = Load(R"x(
[[observers]]
entity = "Order"
event_type = "INSERT"
actions = [{ type = "webhook", url_env = "ANALYTICS_WEBHOOK_URL" }]
)x");
  Diagnostic error = OnlyError(result);
  EXPECT_THAT(error.message, HasSubstr("environment variable 'ANALYTICS_WEBHOOK_URL'"));
  EXPECT_THAT(error.message, HasSubstr("is not set"));
  EXPECT_EQ(error.location.line, 5u);
}

TEST(ConfigActions, WebhookUrlMustBeHttp) {
  LoadResult result = Load(R"x(
[[observers]]
entity = "Order"
event_type = "INSERT"
actions = [{ type = "webhook", url = "ftp://example.com" }]
)x");
  EXPECT_THAT(OnlyError(result).message, HasSubstr("\"ftp://example.com\": the URL's scheme is 'ftp'; only http and https"));
}

TEST(ConfigActions, WebhookPayloadData) {
  LoadResult result = Load(R"x(
[[observers]]
entity = "Order"
event_type = "INSERT"
actions = [{ type = "webhook", url = "https://a", payload = "data" }]
)x");
  ASSERT_TRUE(result.ok()) << AllDiagnostics(result);
  EXPECT_EQ(std::get<WebhookAction>(result.config->observers[0].actions[0].spec).payload,
            WebhookAction::Payload::kData);
}

TEST(ConfigActions, WebhookHeaderWithLineBreakIsRefused) {
  LoadResult result = Load(R"x(
[[observers]]
entity = "Order"
event_type = "INSERT"
actions = [{ type = "webhook", url = "https://a", headers = { "X-A" = "a\r\nX-Injected: 1" } }]
)x");
  EXPECT_THAT(OnlyError(result).message, HasSubstr("contains a line break"));
}

TEST(ConfigActions, SigningSecretEnvMissingIsAnError) {
  LoadResult result = Load(R"x(
[[observers]]
entity = "Order"
event_type = "INSERT"
actions = [{ type = "webhook", url = "https://a", signing_secret_env = "NOPE" }]
)x");
  EXPECT_THAT(OnlyError(result).message, HasSubstr("'NOPE'"));
}

TEST(ConfigActions, SlackUrlIsASecret) {
  LoadResult result = Load(R"x(
[[observers]]
entity = "Order"
event_type = "INSERT"
actions = [{ type = "slack", webhook_url_env = "SLACK", channel = "#orders" }]
)x",
                           {{"SLACK", "https://hooks.slack.com/services/T/B/X"}});
  ASSERT_TRUE(result.ok()) << AllDiagnostics(result);
  const auto& slack = std::get<SlackAction>(result.config->observers[0].actions[0].spec);
  EXPECT_EQ(slack.webhook_url.Reveal(), "https://hooks.slack.com/services/T/B/X");
  EXPECT_EQ(slack.channel, "#orders");
  EXPECT_FALSE(slack.message_template.has_value());
}

TEST(ConfigActions, EmailRequiresRecipientSubjectAndBody) {
  LoadResult result = Load(R"x(
[[observers]]
entity = "Order"
event_type = "INSERT"
actions = [{ type = "email" }]
)x");
  EXPECT_EQ(result.error_count(), 3u) << AllDiagnostics(result);
  const std::string text = AllDiagnostics(result);
  EXPECT_THAT(text, HasSubstr("needs 'body_template'"));
  EXPECT_THAT(text, HasSubstr("needs 'to' or 'to_template'"));
  EXPECT_THAT(text, HasSubstr("needs 'subject' or 'subject_template'"));
}

TEST(ConfigActions, EmailFieldsAndMissingSmtpWarning) {
  LoadResult result = Load(R"x(
[[observers]]
entity = "Order"
event_type = "INSERT"

[[observers.actions]]
type = "email"
to = ["a@example.com", "b@example.com"]
cc = "c@example.com"
subject_template = "Order {{ data.id }}"
body_template = "<p>{{ data.id }}</p>"
reply_to = "support@example.com"
content_type = "text/html"
)x");
  ASSERT_TRUE(result.ok()) << AllDiagnostics(result);
  const auto& email = std::get<EmailAction>(result.config->observers[0].actions[0].spec);
  EXPECT_EQ(email.to, (std::vector<std::string>{"a@example.com", "b@example.com"}));
  EXPECT_EQ(email.cc, (std::vector<std::string>{"c@example.com"}));
  EXPECT_EQ(email.reply_to, "support@example.com");
  EXPECT_EQ(email.content_type, "text/html");
  ASSERT_EQ(result.warning_count(), 1u);
  EXPECT_THAT(result.diagnostics[0].message, HasSubstr("no [email] section"));
  EXPECT_EQ(result.diagnostics[0].location.line, 6u);
}

TEST(ConfigActions, EmailAddressIsChecked) {
  LoadResult result = Load(R"x(
[[observers]]
entity = "Order"
event_type = "INSERT"
actions = [{ type = "email", to = "not-an-address", subject = "s", body_template = "b" }]
)x");
  EXPECT_THAT(AllDiagnostics(result), HasSubstr("\"not-an-address\" is not an email address"));
}

TEST(ConfigActions, DatabaseFunctionNameIsValidated) {
  LoadResult good = Load(R"x(
[[observers]]
entity = "Order"
event_type = "INSERT"
actions = [{ type = "database", function_name = "audit.log_change", params = { keep = 3, tags = ["a"] } }]
)x");
  ASSERT_TRUE(good.ok()) << AllDiagnostics(good);
  const auto& database = std::get<DatabaseAction>(good.config->observers[0].actions[0].spec);
  EXPECT_EQ(database.function_name, "audit.log_change");
  EXPECT_EQ(database.params, (nlohmann::json{{"keep", 3}, {"tags", {"a"}}}));

  LoadResult bad = Load(R"x(
[[observers]]
entity = "Order"
event_type = "INSERT"
actions = [{ type = "database", function_name = "x; DROP TABLE y" }]
)x");
  EXPECT_THAT(OnlyError(bad).message, HasSubstr("expected name or schema.name"));
}

TEST(ConfigActions, LogLevelAndTemplate) {
  LoadResult result = Load(R"x(
[[observers]]
entity = "Order"
event_type = "INSERT"
actions = [{ type = "log", level = "WARN", message_template = "{{ event.id }}" }]
)x");
  ASSERT_TRUE(result.ok()) << AllDiagnostics(result);
  EXPECT_EQ(std::get<LogAction>(result.config->observers[0].actions[0].spec).level, LogAction::Level::kWarn);
  LoadResult missing = Load(R"x(
[[observers]]
entity = "Order"
event_type = "INSERT"
actions = [{ type = "log" }]
)x");
  EXPECT_THAT(OnlyError(missing).message, HasSubstr("needs 'message_template'"));
}

TEST(ConfigActions, UnknownTypeSuggestsTheClosest) {
  LoadResult result = Load(R"x(
[[observers]]
entity = "Order"
event_type = "INSERT"
actions = [{ type = "webhok", url = "https://a" }]
)x");
  Diagnostic error = OnlyError(result);
  EXPECT_THAT(error.message, HasSubstr("unknown action type \"webhok\""));
  EXPECT_THAT(error.message, HasSubstr("did you mean \"webhook\"?"));
}

TEST(ConfigActions, NotYetSupportedTypesAreRefusedNotIgnored) {
  for (std::string_view action :
       {R"x({ type = "cache", key_pattern = "order:{{ data.id }}", action = "invalidate" })x",
        R"x({ type = "search", index = "orders" })x", R"x({ type = "sms", phone = "+15550100" })x",
        R"x({ type = "push", device_token = "abc" })x"}) {
    LoadResult result = Load(R"x(
[[observers]]
entity = "Order"
event_type = "INSERT"
actions = [)x" + std::string(action) + "]\n");
    EXPECT_THAT(OnlyError(result).message, HasSubstr("is not supported in this version")) << action;
  }
}

TEST(ConfigActions, KeysOfAnotherTypeAreUnknown) {
  LoadResult result = Load(R"x(
[[observers]]
entity = "Order"
event_type = "INSERT"
actions = [{ type = "log", message_template = "x", url = "https://a" }]
)x");
  EXPECT_THAT(OnlyError(result).message, HasSubstr("unknown key 'url' in observers[0].actions[0]"));
}

TEST(ConfigTemplates, NeverResolvingPlaceholderIsAWarningAtItsPosition) {
  LoadResult result = Load(R"x(
[[observers]]
entity = "Order"
event_type = "INSERT"
actions = [{ type = "log", message_template = "id {{ event.nope }}" }]
)x");
  ASSERT_TRUE(result.ok()) << AllDiagnostics(result);
  ASSERT_EQ(result.warning_count(), 1u);
  EXPECT_EQ(result.diagnostics[0].location.line, 5u);
  EXPECT_EQ(result.diagnostics[0].location.column, 51u);
  EXPECT_THAT(result.diagnostics[0].message, HasSubstr("message_template"));
}

TEST(ConfigTemplates, DollarBeforePlaceholderIsNotAVariable) {
  LoadResult result = Load(R"x(
[[observers]]
entity = "Order"
event_type = "INSERT"
actions = [{ type = "log", message_template = "total ${{ data.total }}" }]
)x");
  ASSERT_TRUE(result.ok()) << AllDiagnostics(result);
  EXPECT_EQ(std::get<LogAction>(result.config->observers[0].actions[0].spec).message_template.source(),
            "total ${{ data.total }}");
}

TEST(ConfigFile, TomlSyntaxErrorHasALocation) {
  LoadResult result = Load("[[observers]]\nentity = \"Order\nevent_type = 1\n");
  Diagnostic error = OnlyError(result);
  EXPECT_EQ(error.location.line, 2u);
  EXPECT_THAT(error.message, HasSubstr("invalid TOML"));
}

TEST(ConfigFile, MissingFileIsReported) {
  LoadResult result = LoadConfigFile("/nonexistent/observer.toml");
  Diagnostic error = OnlyError(result);
  EXPECT_EQ(error.location.file, "/nonexistent/observer.toml");
  EXPECT_THAT(error.message, HasSubstr("cannot open the config file"));
}

TEST(ConfigFile, DirectoryIsNotAConfig) {
  LoadResult result = LoadConfigFile(::testing::TempDir());
  EXPECT_THAT(OnlyError(result).message, HasSubstr("it is a directory"));
}

TEST(ConfigSecrets, ValuesFromTheEnvironmentAreNotEchoedInErrors) {
  LoadResult result = Load(R"x(
[[observers]]
entity = "Order"
event_type = "INSERT"
actions = [{ type = "webhook", url_env = "HOOK", method = "${METHOD}" }]
)x",
                           {{"HOOK", "ftp://user:hunter2@example.com"}, {"METHOD", "hunter3"}});
  const std::string text = AllDiagnostics(result);
  EXPECT_EQ(result.error_count(), 2u) << text;
  EXPECT_THAT(text, Not(HasSubstr("hunter2")));
  EXPECT_THAT(text, Not(HasSubstr("hunter3")));
  // What the file says instead: the variable's name, the string with its ${VAR}.
  EXPECT_THAT(text, HasSubstr("the value of $HOOK"));
  EXPECT_THAT(text, HasSubstr("is \"${METHOD}\"; expected POST"));
}

TEST(ConfigSecrets, EnvironmentDerivedFieldsAreFlagged) {
  LoadResult result = Load(R"x(
[[observers]]
entity = "Order"
event_type = "INSERT"
condition = "status == '${WANTED}'"
actions = [{ type = "webhook", url_env = "HOOK", body_template = '{"key": "${KEY}"}' },
           { type = "webhook", url = "https://plain.example.com" }]
)x",
                           {{"HOOK", "https://example.com/t0k3n"}, {"KEY", "k"}, {"WANTED", "paid"}});
  ASSERT_TRUE(result.ok()) << AllDiagnostics(result);
  const ObserverConfig& observer = result.config->observers[0];
  EXPECT_TRUE(observer.condition_from_environment);
  const auto& from_env = std::get<WebhookAction>(observer.actions[0].spec);
  EXPECT_TRUE(from_env.url_from_environment);
  EXPECT_TRUE(from_env.body_template->sensitive());
  const auto& plain = std::get<WebhookAction>(observer.actions[1].spec);
  EXPECT_FALSE(plain.url_from_environment);
}

TEST(ConfigActions, ParamsExpandVariables) {
  LoadResult result = Load(R"x(
[[observers]]
entity = "Order"
event_type = "INSERT"
actions = [{ type = "database", function_name = "f", params = { region = "${REGION}", list = ["${REGION}"] } }]
)x",
                           {{"REGION", "eu"}});
  ASSERT_TRUE(result.ok()) << AllDiagnostics(result);
  EXPECT_EQ(std::get<DatabaseAction>(result.config->observers[0].actions[0].spec).params,
            (nlohmann::json{{"region", "eu"}, {"list", {"eu"}}}));
}

TEST(ConfigFile, ObserversMustBeTables) {
  LoadResult result = Load("observers = 3\n");
  EXPECT_THAT(OnlyError(result).message, HasSubstr("array of tables"));
}

TEST(ConfigFile, UnknownTopLevelKey) {
  LoadResult result = Load(std::string(kMinimalObserver) + "[perfromance]\nmax_in_flight = 3\n");
  Diagnostic error = OnlyError(result);
  EXPECT_EQ(error.message, "unknown key 'perfromance' in the top level; did you mean 'performance'?");
}

TEST(ConfigFile, EmptyFileIsValidWithAWarning) {
  LoadResult result = Load("");
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.warning_count(), 1u);
  EXPECT_THAT(result.diagnostics[0].message, HasSubstr("no observers"));
}

}  // namespace
}  // namespace fraiseql
