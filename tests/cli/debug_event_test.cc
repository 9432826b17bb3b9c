// `debug-event`: verdicts, reasons and previews, without side effects.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_test_util.h"

namespace fraiseql {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using nlohmann::json;
using testing::ExamplePath;
using testing::RunCli;
using testing::WriteTempFile;

json DebugJson(const std::string& config, const std::string& event) {
  testing::CliRun run = RunCli({"debug-event", "--config", config, "--event", event, "--format", "json"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  return json::parse(run.out);
}

const json* FindObserver(const json& report, const std::string& name) {
  for (const json& observer : report["observers"]) {
    if (observer["name"] == name) return &observer;
  }
  return nullptr;
}

TEST(DebugEvent, ChangeLogRowThroughTheExampleConfig) {
  const json report = DebugJson(ExamplePath("observers.toml"), ExamplePath("events/order-shipped.json"));
  EXPECT_EQ(report["event"]["event_type"], "UPDATE");
  EXPECT_EQ(report["event"]["entity_type"], "Order");
  EXPECT_EQ(report["event"]["user_id"], "1001");
  EXPECT_EQ(report["event"]["changes"]["status"], (json{{"old", "paid"}, {"new", "shipped"}}));
  ASSERT_EQ(report["observers"].size(), 4u);

  const json& created = report["observers"][0];
  EXPECT_EQ(created["name"], "order-created-webhook");
  EXPECT_EQ(created["matched"], false);
  EXPECT_EQ(created["reason"], "event kind mismatch");
  EXPECT_TRUE(created["condition_result"].is_null());

  const json& shipped = report["observers"][1];
  EXPECT_EQ(shipped["matched"], true);
  EXPECT_EQ(shipped["reason"], "ok");
  EXPECT_EQ(shipped["condition_result"], true);
  const json& email = shipped["actions"][0];
  EXPECT_EQ(email["index"], 0);
  EXPECT_EQ(email["type"], "email");
  EXPECT_EQ(email["rendered"]["to"], json::array({"alice@example.com"}));
  EXPECT_EQ(email["rendered"]["subject"], "Order A-1042 has shipped");
  EXPECT_EQ(email["rendered"]["body"], "Hello Alice, your order of $1250.0 is on its way.");

  const json& big = report["observers"][2];
  EXPECT_EQ(big["matched"], true);
  ASSERT_EQ(big["actions"].size(), 2u);
  EXPECT_EQ(big["actions"][0]["rendered"]["url"], "<redacted>");  // a Slack URL is a credential
  EXPECT_EQ(big["actions"][0]["rendered"]["body"]["text"], "Big order A-1042: $1250.0 (UPDATE)");
  EXPECT_EQ(big["actions"][1]["rendered"]["level"], "warn");

  EXPECT_EQ(report["observers"][3]["reason"], "event kind mismatch");
}

TEST(DebugEvent, EntityEventFileAndWebhookEnvelope) {
  const json report = DebugJson(ExamplePath("observers.toml"), ExamplePath("events/order-created.json"));
  const json* created = FindObserver(report, "order-created-webhook");
  ASSERT_NE(created, nullptr);
  ASSERT_EQ(created->at("matched"), true);
  const json& rendered = created->at("actions")[0]["rendered"];
  EXPECT_EQ(rendered["method"], "POST");
  EXPECT_EQ(rendered["url"], "https://hooks.example.com/orders");
  EXPECT_EQ(rendered["headers"]["X-Source"], "fraiseql-observer");
  EXPECT_EQ(rendered["headers"]["Content-Type"], "application/json");
  EXPECT_EQ(rendered["body"]["id"], "c1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8");
  EXPECT_EQ(rendered["body"]["event_type"], "INSERT");
  EXPECT_EQ(rendered["body"]["data"]["number"], "A-1042");
  EXPECT_EQ(rendered["signature"]["keys"], 1);
}

TEST(DebugEvent, SecretsNeverAppear) {
  for (const char* format : {"json", "text"}) {
    testing::CliRun run = RunCli({"debug-event", "--config", ExamplePath("observers.toml"), "--event",
                                  ExamplePath("events/order-created.json"), "--format", format});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_THAT(run.out, Not(HasSubstr("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))) << format;
    EXPECT_THAT(run.out, Not(HasSubstr("hooks.slack.com"))) << format;
  }
}

TEST(DebugEvent, WildcardEntityOnDelete) {
  const json report = DebugJson(ExamplePath("observers.toml"), ExamplePath("events/product-deleted.json"));
  const json* audit = FindObserver(report, "audit-deletes");
  ASSERT_NE(audit, nullptr);
  EXPECT_EQ(audit->at("matched"), true);
  const json& rendered = audit->at("actions")[0]["rendered"];
  EXPECT_EQ(rendered["sql"], "SELECT audit.record_deletion($1::jsonb)");
  EXPECT_EQ(rendered["argument"]["event"]["data"]["sku"], "SKU-7");  // DELETE data = before-image
  EXPECT_EQ(rendered["argument"]["params"]["retention_days"], 365);
  EXPECT_EQ(FindObserver(report, "order-created-webhook")->at("reason"), "entity mismatch");
}

TEST(DebugEvent, ReasonsForDisabledConditionFalseAndConditionError) {
  const std::string config = WriteTempFile("c.toml", R"x(
[[observers]]
name = "off"
entity = "Order"
event_type = "UPDATE"
enabled = false
actions = [{ type = "log", message_template = "x" }]

[[observers]]
name = "false"
entity = "Order"
event_type = "UPDATE"
condition = "total > 5000"
actions = [{ type = "log", message_template = "x" }]

[[observers]]
name = "error"
entity = "Order"
event_type = "UPDATE"
condition = "field_changed(status)"
actions = [{ type = "log", message_template = "x" }]
)x");
  const std::string event = WriteTempFile("e.json", R"x({
    "id": "7d3f8a52-3c1e-4b8e-9a55-2f1c0e6d9b10", "object_type": "Order", "modification_type": "update",
    "object_id": "0b6e2f3c-8d4a-4f7e-b1a2-9c3d5e7f1a2b", "created_at": "2026-11-29T12:00:00Z",
    "object_data": {"total": 10, "status": "paid"}})x");
  const json report = DebugJson(config, event);
  EXPECT_EQ(report["observers"][0]["reason"], "disabled");
  EXPECT_EQ(report["observers"][1]["reason"], "condition false");
  EXPECT_EQ(report["observers"][1]["condition_result"], false);
  EXPECT_THAT(report["observers"][2]["reason"].get<std::string>(), HasSubstr("condition error: "));
  EXPECT_THAT(report["observers"][2]["reason"].get<std::string>(), HasSubstr("pre-image"));
  EXPECT_TRUE(report["observers"][2]["condition_result"].is_null());
  EXPECT_FALSE(report["observers"][2].contains("actions"));
}

TEST(DebugEvent, TextOutputForAPerson) {
  testing::CliRun run = RunCli({"debug-event", "--config", ExamplePath("observers.toml"), "--event",
                                ExamplePath("events/order-shipped.json")});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("(from change-log row 42)"));
  EXPECT_THAT(run.out, HasSubstr("2 of 4 observers matched"));
  EXPECT_THAT(run.out, HasSubstr("MATCH order-shipped-email"));
  EXPECT_THAT(run.out, HasSubstr("skip  order-created-webhook (Order INSERT): event kind mismatch"));
  EXPECT_THAT(run.out, HasSubstr("action 0 (email) would send:"));
}

TEST(DebugEvent, EnvironmentDerivedUrlsAndTemplatesAreRedacted) {
  setenv("FRAISEQL_TEST_HOOK", "https://example.com/hook?token=s3cr3t", 1);
  setenv("FRAISEQL_TEST_KEY", "k3y", 1);
  const std::string config = WriteTempFile("env.toml", R"x(
[[observers]]
entity = "Order"
event_type = "INSERT"
actions = [{ type = "webhook", url_env = "FRAISEQL_TEST_HOOK", body_template = '{"key": "${FRAISEQL_TEST_KEY}"}' }]
)x");
  for (const char* format : {"json", "text"}) {
    testing::CliRun run = RunCli({"debug-event", "--config", config, "--event",
                                  ExamplePath("events/order-created.json"), "--format", format});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_THAT(run.out, Not(HasSubstr("s3cr3t"))) << format;
    EXPECT_THAT(run.out, Not(HasSubstr("k3y"))) << format;
    EXPECT_THAT(run.out, HasSubstr("<redacted>")) << format;
  }
}

TEST(DebugEvent, InvalidUtf8InTheEventDoesNotCrash) {
  const std::string event = WriteTempFile("utf8.json", "{\"id\": \"c1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8\", "
      "\"event_type\": \"INSERT\", \"entity_type\": \"Order\", \"entity_id\": "
      "\"0b6e2f3c-8d4a-4f7e-b1a2-9c3d5e7f1a2b\", \"timestamp\": \"2026-11-29T12:00:00Z\", "
      "\"data\": {\"number\": \"\xc3\"}}");
  testing::CliRun run = RunCli({"debug-event", "--config", ExamplePath("observers.toml"), "--event", event});
  EXPECT_NE(run.exit_code, 0);
  EXPECT_THAT(run.err, HasSubstr("error"));
}

TEST(DebugEvent, MissingEventFileSaysWhy) {
  testing::CliRun run = RunCli({"debug-event", "--config", ExamplePath("observers.toml"), "--event",
                                "/nonexistent/event.json"});
  EXPECT_EQ(run.exit_code, cli::kExitInvalidInput);
  EXPECT_THAT(run.err, HasSubstr("/nonexistent/event.json: error: cannot open the event file: "
                                 "No such file or directory"));
}

TEST(DebugEvent, InvalidJsonIsLocated) {
  const std::string event = WriteTempFile("bad.json", "{\n  \"id\": \"x\",\n  oops\n}\n");
  testing::CliRun run = RunCli({"debug-event", "--config", ExamplePath("observers.toml"), "--event", event});
  EXPECT_EQ(run.exit_code, cli::kExitInvalidInput);
  EXPECT_THAT(run.err, HasSubstr(event + ":3:3: error: invalid JSON"));
}

TEST(DebugEvent, UnknownVerbNamesVerbAndRow) {
  const std::string event = WriteTempFile("verb.json", R"x({"pk_entity_change_log": 9,
    "id": "7d3f8a52-3c1e-4b8e-9a55-2f1c0e6d9b10", "object_type": "Order", "modification_type": "UPSERT",
    "object_id": "0b6e2f3c-8d4a-4f7e-b1a2-9c3d5e7f1a2b"})x");
  testing::CliRun run = RunCli({"debug-event", "--config", ExamplePath("observers.toml"), "--event", event});
  EXPECT_EQ(run.exit_code, cli::kExitInvalidInput);
  EXPECT_THAT(run.err, HasSubstr("change-log row 9"));
  EXPECT_THAT(run.err, HasSubstr("'UPSERT'"));
}

TEST(DebugEvent, InvalidConfigStopsBeforeTheEvent) {
  const std::string config = WriteTempFile("bad.toml", "[[observers]]\nentity = 1\n");
  testing::CliRun run = RunCli({"debug-event", "--config", config, "--event", ExamplePath("events/order-created.json")});
  EXPECT_EQ(run.exit_code, cli::kExitInvalidInput);
  EXPECT_THAT(run.err, HasSubstr(config + ":2:10: error:"));
  EXPECT_THAT(run.err, HasSubstr("fix the config first"));
}

TEST(DebugEvent, UnresolvedPlaceholdersAreListed) {
  const std::string config = WriteTempFile("u.toml", R"x(
[[observers]]
entity = "Order"
event_type = "INSERT"
actions = [{ type = "log", message_template = "coupon {{ data.coupon }}" }]
)x");
  const json report = DebugJson(config, ExamplePath("events/order-created.json"));
  const json& rendered = report["observers"][0]["actions"][0]["rendered"];
  EXPECT_EQ(rendered["message"], "coupon {{ data.coupon }}");
  EXPECT_EQ(rendered["unresolved"], json::array({"data.coupon"}));
}

}  // namespace
}  // namespace fraiseql
