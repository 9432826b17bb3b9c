// Webhook, Slack and log actions against a real HTTP receiver on loopback, through the real
// curl engine. Signatures are checked by an independent Python implementation.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <memory>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "actions/action.h"
#include "actions/http_action.h"
#include "http/signing.h"
#include "actions/slack_action.h"
#include "actions/webhook_action.h"
#include "common/log.h"
#include "config/config.h"
#include "delivery/delivery.h"
#include "http/curl_engine.h"
#include "testing/event_builder.h"
#include "testing/http_receiver.h"

namespace fraiseql {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using testing::HttpReceiver;
using testing::ReceivedRequest;
using testing::ScriptedReply;

class HttpActionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CurlEngineOptions options;
    Result<SsrfGuard> guard = SsrfGuard::Create(std::vector<std::string>{"127.0.0.0/8"});
    ASSERT_TRUE(guard.has_value());
    options.guard = std::move(*guard);
    Result<std::unique_ptr<CurlEngine>> engine = CurlEngine::Create(std::move(options), clock_);
    ASSERT_TRUE(engine.has_value()) << engine.error().message;
    http_ = std::move(*engine);
  }

  // Loads one observer whose actions are `actions_toml`.
  const ActionConfig& LoadAction(const std::string& actions_toml, size_t index = 0) {
    const std::string text = R"(
[[observers]]
name = "orders"
entity = "Order"
event_type = "*"
)" + actions_toml;
    LoadResult loaded = LoadConfigString(text, "http_actions_test.toml");
    for (const Diagnostic& d : loaded.diagnostics) ADD_FAILURE() << d.ToString();
    config_ = std::make_unique<Config>(std::move(*loaded.config));
    return config_->observers[0].actions.at(index);
  }

  std::unique_ptr<Action> Make(const ActionConfig& config) {
    ActionDependencies deps(clock_);
    deps.http = http_.get();
    Result<std::unique_ptr<Action>> action = MakeAction(config, deps);
    EXPECT_TRUE(action.has_value()) << action.error().message;
    return action ? std::move(*action) : nullptr;
  }

  DeliveryOutcome Run(Action& action, uint32_t attempt = 1) {
    std::promise<DeliveryOutcome> promise;
    ActionCall call{event_, delivery_id_, attempt, 30000ms};
    action.Execute(call, [&promise](DeliveryOutcome outcome) { promise.set_value(std::move(outcome)); });
    std::future<DeliveryOutcome> future = promise.get_future();
    EXPECT_EQ(future.wait_for(30s), std::future_status::ready);
    return future.get();
  }

  SystemClock clock_;
  std::unique_ptr<CurlEngine> http_;
  std::unique_ptr<Config> config_;
  HttpReceiver receiver_;
  std::shared_ptr<const EntityEvent> event_ = std::make_shared<EntityEvent>(
      testing::MakeOrderUpdate({{"id", 42}, {"status", "shipped"}, {"total", 150.5}},
                               {{"status", {{"old", "paid"}, {"new", "shipped"}}}}));
  std::string delivery_id_ = MakeDeliveryId(testing::kOrderEventId, "orders", 0);
};

// Runs the independent verifier on a recorded request; returns its output.
std::string VerifyWithPython(const ReceivedRequest& request, const std::string& secret) {
  nlohmann::json headers = nlohmann::json::object();
  for (const char* name : {"webhook-id", "webhook-timestamp", "webhook-signature", "X-FraiseQL-Signature-256"}) {
    if (auto value = request.Header(name)) headers[name] = *value;
  }
  const nlohmann::json document = {{"headers", headers}, {"body_base64", Base64Encode(request.body)}, {"secret", secret}};
  char path[] = "/tmp/fraiseql-signature-XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << document.dump();
  const std::string command = "/usr/bin/python3 " FRAISEQL_SOURCE_DIR "/tests/tools/verify_webhook_signature.py < " +
                              std::string(path) + " 2>&1";
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  char buffer[256];
  while (pipe != nullptr && fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  const int status = pipe != nullptr ? pclose(pipe) : -1;
  std::remove(path);
  return output + (status == 0 ? "exit 0" : "exit nonzero");
}

TEST_F(HttpActionsTest, WebhookSendsTheEnvelopeWithStandardHeaders) {
  auto action = Make(LoadAction(R"(
[[observers.actions]]
type = "webhook"
url = ")" + receiver_.url("/hooks/orders") + R"("
headers = { "X-Team" = "billing" }
)"));
  const DeliveryOutcome outcome = Run(*action);
  EXPECT_EQ(outcome.kind, DeliveryOutcomeKind::kSuccess) << outcome.message;
  ASSERT_EQ(receiver_.request_count(), 1u);
  const ReceivedRequest request = receiver_.requests()[0];
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.target, "/hooks/orders");
  EXPECT_EQ(request.Header("webhook-id"), delivery_id_);
  ASSERT_TRUE(request.Header("webhook-timestamp").has_value());
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_NEAR(static_cast<double>(std::stoll(*request.Header("webhook-timestamp"))), static_cast<double>(now), 60);
  EXPECT_EQ(request.Header("User-Agent"), "fraiseql-observer/" FRAISEQL_VERSION);
  EXPECT_EQ(request.Header("Content-Type"), "application/json");
  EXPECT_EQ(request.Header("X-Team"), "billing");
  EXPECT_FALSE(request.Header("webhook-signature").has_value());  // no secret, no signature
  const nlohmann::json body = nlohmann::json::parse(request.body);
  EXPECT_EQ(body, EventEnvelope(*event_));
  for (const char* key : {"id", "event_type", "entity_type", "entity_id", "timestamp", "tenant_id", "user_id",
                          "data", "changes"}) {
    EXPECT_TRUE(body.contains(key)) << key;
  }
}

TEST_F(HttpActionsTest, WebhookPayloadDataSendsTheDataAlone) {
  auto action = Make(LoadAction(R"(
[[observers.actions]]
type = "webhook"
url = ")" + receiver_.url() + R"("
payload = "data"
method = "PUT"
)"));
  EXPECT_EQ(Run(*action).kind, DeliveryOutcomeKind::kSuccess);
  const ReceivedRequest request = receiver_.requests().at(0);
  EXPECT_EQ(request.method, "PUT");
  EXPECT_EQ(nlohmann::json::parse(request.body), event_->data);
}

TEST_F(HttpActionsTest, WebhookBodyTemplateIsRenderedAsJson) {
  auto action = Make(LoadAction(R"(
[[observers.actions]]
type = "webhook"
url = ")" + receiver_.url() + R"("
body_template = '{"order": {{ data.id }}, "status": "{{ data.status }}"}'
)"));
  EXPECT_EQ(Run(*action).kind, DeliveryOutcomeKind::kSuccess);
  EXPECT_EQ(nlohmann::json::parse(receiver_.requests().at(0).body),
            nlohmann::json({{"order", 42}, {"status", "shipped"}}));
}

TEST_F(HttpActionsTest, WebhookSignaturesVerifyIndependentlyInBothSchemes) {
  auto action = Make(LoadAction(R"(
[[observers.actions]]
type = "webhook"
url = ")" + receiver_.url() + R"("
signing_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
)"));
  EXPECT_EQ(Run(*action).kind, DeliveryOutcomeKind::kSuccess);
  const ReceivedRequest request = receiver_.requests().at(0);
  ASSERT_TRUE(request.Header("webhook-signature").has_value());
  ASSERT_TRUE(request.Header("X-FraiseQL-Signature-256").has_value());
  EXPECT_EQ(VerifyWithPython(request, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            "standard: ok\nfraiseql: ok\nexit 0");
  EXPECT_THAT(VerifyWithPython(request, "whsec_bm90IHRoZSBrZXk="), HasSubstr("standard: mismatch"));
}

TEST_F(HttpActionsTest, WebhookSignsOncePerKeyDuringRotation) {
  auto action = Make(LoadAction(R"(
[[observers.actions]]
type = "webhook"
url = ")" + receiver_.url() + R"("
signing_secret = ["old-plain-secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
)"));
  EXPECT_EQ(Run(*action).kind, DeliveryOutcomeKind::kSuccess);
  const ReceivedRequest request = receiver_.requests().at(0);
  // Either key alone verifies: receivers can switch at their own pace.
  EXPECT_EQ(VerifyWithPython(request, "old-plain-secret"), "standard: ok\nfraiseql: ok\nexit 0");
  EXPECT_EQ(VerifyWithPython(request, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), "standard: ok\nfraiseql: ok\nexit 0");
  const std::string standard = request.Header("webhook-signature").value_or("");
  EXPECT_EQ(std::count(standard.begin(), standard.end(), ' '), 1) << standard;
}

TEST_F(HttpActionsTest, WebhookSchemeStandardSendsOnlyThatSignature) {
  auto action = Make(LoadAction(R"(
[[observers.actions]]
type = "webhook"
url = ")" + receiver_.url() + R"("
signing_secret = "plain"
signature_scheme = "standard"
)"));
  EXPECT_EQ(Run(*action).kind, DeliveryOutcomeKind::kSuccess);
  const ReceivedRequest request = receiver_.requests().at(0);
  EXPECT_FALSE(request.Header("X-FraiseQL-Signature-256").has_value());
  EXPECT_EQ(VerifyWithPython(request, "plain"), "standard: ok\nfraiseql: absent\nexit 0");
}

TEST_F(HttpActionsTest, WebhookIdIsTheSameOnEveryAttempt) {
  auto action = Make(LoadAction(R"(
[[observers.actions]]
type = "webhook"
url = ")" + receiver_.url() + R"("
)"));
  receiver_.Script({ScriptedReply::Status(503)});
  EXPECT_EQ(Run(*action, 1).kind, DeliveryOutcomeKind::kRetryable);
  EXPECT_EQ(Run(*action, 2).kind, DeliveryOutcomeKind::kSuccess);
  ASSERT_EQ(receiver_.request_count(), 2u);
  EXPECT_EQ(receiver_.requests()[0].Header("webhook-id"), receiver_.requests()[1].Header("webhook-id"));
}

TEST_F(HttpActionsTest, ClassifiesStatusesAndRetryAfter) {
  auto action = Make(LoadAction(R"(
[[observers.actions]]
type = "webhook"
url = ")" + receiver_.url() + R"("
)"));
  ScriptedReply throttled = ScriptedReply::Status(429);
  throttled.headers = {{"Retry-After", "2"}};
  receiver_.Script({throttled, ScriptedReply::Status(400), ScriptedReply::Status(410), ScriptedReply::Status(302)});
  const DeliveryOutcome first = Run(*action);
  EXPECT_EQ(first.kind, DeliveryOutcomeKind::kRetryable);
  EXPECT_EQ(first.retry_after, std::chrono::milliseconds(2000));
  EXPECT_EQ(first.error_type, "http_429");
  const DeliveryOutcome second = Run(*action);
  EXPECT_EQ(second.kind, DeliveryOutcomeKind::kPermanent);
  EXPECT_EQ(second.http_status, 400);
  const DeliveryOutcome gone = Run(*action);
  EXPECT_TRUE(gone.target_gone);
  const DeliveryOutcome redirect = Run(*action);
  EXPECT_EQ(redirect.kind, DeliveryOutcomeKind::kPermanent);
  EXPECT_THAT(redirect.message, HasSubstr("redirects are not followed"));
  EXPECT_EQ(receiver_.request_count(), 4u);  // the redirect was not followed
}

TEST_F(HttpActionsTest, ConnectionFailuresAndTimeoutsAreRetryable) {
  auto reset = Make(LoadAction(R"(
[[observers.actions]]
type = "webhook"
url = ")" + receiver_.url() + R"("
timeout_ms = 300
)"));
  receiver_.Script({ScriptedReply::Reset()});
  const DeliveryOutcome after_reset = Run(*reset);
  EXPECT_EQ(after_reset.kind, DeliveryOutcomeKind::kRetryable) << after_reset.message;
  ScriptedReply slow = ScriptedReply::Status(200);
  slow.delay = 3000ms;
  receiver_.Script({slow});
  const DeliveryOutcome timed_out = Run(*reset);
  EXPECT_EQ(timed_out.kind, DeliveryOutcomeKind::kRetryable);
  EXPECT_EQ(timed_out.error_type, "timeout");
}

TEST_F(HttpActionsTest, SsrfGuardRefusesLoopbackWithoutTheAllowList) {
  CurlEngineOptions options;  // public addresses only
  Result<std::unique_ptr<CurlEngine>> strict = CurlEngine::Create(std::move(options), clock_);
  ASSERT_TRUE(strict.has_value());
  ActionDependencies deps(clock_);
  deps.http = strict->get();
  for (const std::string& url : {receiver_.url(), "http://localhost:" + std::to_string(receiver_.port()) + "/"}) {
    auto action = MakeAction(LoadAction(R"(
[[observers.actions]]
type = "webhook"
url = ")" + url + R"("
)"),
                             deps);
    ASSERT_TRUE(action.has_value());
    const DeliveryOutcome outcome = Run(**action);
    EXPECT_EQ(outcome.kind, DeliveryOutcomeKind::kPermanent) << url;
    EXPECT_EQ(outcome.error_type, "blocked_target");
    EXPECT_THAT(outcome.message, HasSubstr("loopback"));
  }
  EXPECT_EQ(receiver_.request_count(), 0u);
}

TEST_F(HttpActionsTest, SlackSendsTheDefaultMessage) {
  auto action = Make(LoadAction(R"(
[[observers.actions]]
type = "slack"
webhook_url = ")" + receiver_.url("/services/T/B/X") + R"("
channel = "#orders"
)"));
  EXPECT_EQ(action->destination(), "http://127.0.0.1:" + std::to_string(receiver_.port()));
  EXPECT_EQ(Run(*action).kind, DeliveryOutcomeKind::kSuccess);
  const ReceivedRequest request = receiver_.requests().at(0);
  EXPECT_EQ(request.target, "/services/T/B/X");
  const nlohmann::json body = nlohmann::json::parse(request.body);
  EXPECT_EQ(body["text"], "Event: UPDATE on Order (ID: " + std::string(testing::kOrderEntityId) + ")");
  EXPECT_EQ(body["channel"], "#orders");
}

TEST_F(HttpActionsTest, SlackMessageTemplateAndRateLimit) {
  auto action = Make(LoadAction(R"(
[[observers.actions]]
type = "slack"
webhook_url = ")" + receiver_.url() + R"("
message_template = "Order {{ data.id }} is {{ data.status }}"
)"));
  ScriptedReply limited = ScriptedReply::Status(429);
  limited.headers = {{"Retry-After", "1"}};
  receiver_.Script({limited});
  const DeliveryOutcome first = Run(*action);
  EXPECT_EQ(first.kind, DeliveryOutcomeKind::kRetryable);
  EXPECT_EQ(first.retry_after, std::chrono::milliseconds(1000));
  EXPECT_EQ(Run(*action).kind, DeliveryOutcomeKind::kSuccess);
  EXPECT_EQ(nlohmann::json::parse(receiver_.requests().at(1).body)["text"], "Order 42 is shipped");
}

TEST_F(HttpActionsTest, LogActionWritesTheRenderedMessage) {
  log::ScopedCapture capture;
  auto action = Make(LoadAction(R"(
[[observers.actions]]
type = "log"
level = "warn"
message_template = "order {{ data.id }} shipped"
)"));
  EXPECT_EQ(action->destination(), "log");
  EXPECT_EQ(Run(*action).kind, DeliveryOutcomeKind::kSuccess);
  bool found = false;
  for (const log::Line& line : capture.lines()) {
    if (line.text.find("order 42 shipped") != std::string::npos) {
      found = true;
      EXPECT_EQ(line.level, log::Level::kWarn);
      EXPECT_THAT(line.text, HasSubstr("delivery_id=" + delivery_id_));
    }
  }
  EXPECT_TRUE(found);
}

TEST(HttpDestinationTest, NamesSchemeHostAndPort) {
  EXPECT_EQ(*HttpDestinationOf("https://Hooks.Example.com/a?b=c"), "https://hooks.example.com:443");
  EXPECT_EQ(*HttpDestinationOf("http://user:pw@example.com:8080/x"), "http://example.com:8080");
  EXPECT_EQ(*HttpDestinationOf("http://[::1]:9000/"), "http://[::1]:9000");
  EXPECT_FALSE(HttpDestinationOf("ftp://example.com/").has_value());
  EXPECT_FALSE(HttpDestinationOf("not a url").has_value());
}

TEST(UnsupportedActionTest, CacheIsRefusedWithAClearMessage) {
  ActionConfig config;
  config.type = ActionType::kCache;
  config.spec = CacheAction{};
  Result<std::unique_ptr<Action>> action = MakeAction(config, ActionDependencies(RealClock()));
  ASSERT_FALSE(action.has_value());
  EXPECT_THAT(action.error().message, HasSubstr("not supported in this version"));
}

}  // namespace
}  // namespace fraiseql
