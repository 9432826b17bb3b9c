// `debug-event --execute`: performs the matched actions for real against a real HTTP receiver and
// prints each delivery's outcome in the documented JSON shape.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cli_test_util.h"
#include "testing/http_receiver.h"

namespace fraiseql {
namespace {

using ::testing::HasSubstr;
using testing::HttpReceiver;
using testing::ScriptedReply;

std::string Config(const HttpReceiver& receiver) {
  return R"(
[security]
allow_private_targets = ["127.0.0.0/8"]

[[observers]]
name = "order-hook"
entity = "Order"
event_type = "UPDATE"

[observers.retry]
max_attempts = 3
initial_delay_ms = 10
max_delay_ms = 20

[[observers.actions]]
type = "webhook"
url = ")" + receiver.url("/orders") + R"("

[[observers.actions]]
type = "log"
message_template = "order {{ data.id }}"

[[observers]]
name = "not-matching"
entity = "Product"
event_type = "*"

[[observers.actions]]
type = "log"
message_template = "never"
)";
}

const char* kEvent = R"({
  "id": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "event_type": "UPDATE", "entity_type": "Order",
  "entity_id": "550e8400-e29b-41d4-a716-446655440000", "timestamp": "2026-11-29T12:00:00Z",
  "data": {"id": 7, "status": "shipped"}
})";

TEST(DebugEventExecuteTest, PerformsMatchedActionsAndReportsEachDelivery) {
  HttpReceiver receiver;
  receiver.Script({ScriptedReply::Status(503)});
  const std::string config = testing::WriteTempFile("config.toml", Config(receiver));
  const std::string event = testing::WriteTempFile("event.json", kEvent);
  const testing::CliRun run =
      testing::RunCli({"debug-event", "--config", config, "--event", event, "--format", "json", "--execute"});
  ASSERT_EQ(run.exit_code, cli::kExitOk) << run.err << run.out;
  const nlohmann::json output = nlohmann::json::parse(run.out);
  const nlohmann::json& deliveries = output["deliveries"];
  ASSERT_EQ(deliveries.size(), 2u);
  EXPECT_EQ(deliveries[0]["observer"], "order-hook");
  EXPECT_EQ(deliveries[0]["action_index"], 0);
  EXPECT_EQ(deliveries[0]["action_type"], "webhook");
  EXPECT_EQ(deliveries[0]["outcome"], "success");
  ASSERT_EQ(deliveries[0]["attempts"].size(), 2u);
  EXPECT_EQ(deliveries[0]["attempts"][0]["status"], 503);
  EXPECT_THAT(deliveries[0]["attempts"][0]["error"].get<std::string>(), HasSubstr("503"));
  EXPECT_TRUE(deliveries[0]["attempts"][0]["duration_ms"].is_number());
  EXPECT_EQ(deliveries[0]["attempts"][1]["status"], 200);
  EXPECT_EQ(deliveries[1]["action_type"], "log");
  EXPECT_EQ(deliveries[1]["outcome"], "success");
  // The request really arrived, with the delivery id as its webhook-id.
  ASSERT_EQ(receiver.request_count(), 2u);
  EXPECT_EQ(receiver.requests()[1].Header("webhook-id"), deliveries[0]["delivery_id"].get<std::string>());
}

TEST(DebugEventExecuteTest, FailedDeliveryIsReportedAndExitsThree) {
  HttpReceiver receiver;
  receiver.SetDefault(ScriptedReply::Status(400));
  const std::string config = testing::WriteTempFile("config.toml", Config(receiver));
  const std::string event = testing::WriteTempFile("event.json", kEvent);
  const testing::CliRun run = testing::RunCli({"debug-event", "--config", config, "--event", event, "--execute"});
  EXPECT_EQ(run.exit_code, cli::kExitDeliveryFailed) << run.err;
  EXPECT_THAT(run.out, HasSubstr("Deliveries performed:"));
  EXPECT_THAT(run.out, HasSubstr("order-hook action 0 (webhook)"));
  EXPECT_THAT(run.out, HasSubstr("dead_lettered after 1 attempt"));
  EXPECT_THAT(run.out, HasSubstr("HTTP 400"));
  EXPECT_EQ(receiver.request_count(), 1u);
}

TEST(DebugEventExecuteTest, WithoutExecuteNothingIsSent) {
  HttpReceiver receiver;
  const std::string config = testing::WriteTempFile("config.toml", Config(receiver));
  const std::string event = testing::WriteTempFile("event.json", kEvent);
  const testing::CliRun run = testing::RunCli({"debug-event", "--config", config, "--event", event, "--format", "json"});
  EXPECT_EQ(run.exit_code, cli::kExitOk) << run.err;
  EXPECT_FALSE(nlohmann::json::parse(run.out).contains("deliveries"));
  EXPECT_EQ(receiver.request_count(), 0u);
}

}  // namespace
}  // namespace fraiseql
