// The command line's promises about secrets and numbers (issue 10, section 5): URLs in previews
// are redacted, diagnostics quote the file rather than the environment, and every integer
// option refuses negative or absurd values with exit 2 and a message naming the flag.
#include <cstdlib>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cli_test_util.h"

namespace fraiseql {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::CliRun;
using testing::ExamplePath;
using testing::RunCli;
using testing::WriteTempFile;

// ---- Integer options ----

struct BadNumber {
  std::vector<std::string> args;
  std::string flag;
  std::string why;
};

// Each is refused while parsing, before any database or socket is touched (no --database-url
// is given: the range check comes first).
TEST(CliIntegerOptions, NegativeOrAbsurdValuesAreUsageErrorsNamingTheFlag) {
  const std::vector<BadNumber> cases = {
      {{"dlq", "list", "--limit", "-5"}, "--limit", "-5 is negative"},
      {{"dlq", "list", "--limit=-1"}, "--limit", "-1 is negative"},
      {{"dlq", "list", "--limit", "99999999999999999999"}, "--limit", "is more than 1000000"},
      {{"dlq", "list", "--limit", "1000001"}, "--limit", "1000001 is more than 1000000"},
      {{"dlq", "list", "--limit", "0x10"}, "--limit", "'0x10' is not a whole number"},
      {{"dlq", "list", "--limit", "1e3"}, "--limit", "'1e3' is not a whole number"},
      {{"dlq", "retry", "--all", "--limit", "-3"}, "--limit", "-3 is negative"},
      {{"dlq", "purge", "--all", "--limit", "18446744073709551615"}, "--limit", "is more than 1000000"},
      {{"receive", "--port", "70000"}, "--port", "70000 is more than 65535"},
      {{"receive", "--port", "-1"}, "--port", "-1 is negative"},
      {{"receive", "--port", "1", "--tolerance", "-1"}, "--tolerance", "-1 is negative"},
      {{"receive", "--port", "1", "--tolerance", "9999999999"}, "--tolerance", "is more than 31536000"},
      {{"receive", "--port", "1", "--status", "600"}, "--status", "600 is more than 599"},
      {{"receive", "--port", "1", "--status", "99"}, "--status", "99 is less than 200"},
      {{"receive", "--port", "1", "--status", "101"}, "--status", "101 is less than 200"},
      {{"receive", "--port", "1", "--count", "-2"}, "--count", "-2 is negative"},
      {{"receive", "--port", "1", "--count", "5k"}, "--count", "'5k' is not a whole number"},
  };
  for (const BadNumber& bad : cases) {
    const CliRun run = RunCli(bad.args);
    EXPECT_EQ(run.exit_code, cli::kExitUsage) << bad.args[bad.args.size() - 1] << "\n" << run.err;
    EXPECT_THAT(run.err, AllOf(HasSubstr(bad.flag + ": "), HasSubstr(bad.why), HasSubstr("give a whole number from")))
        << bad.flag;
    EXPECT_TRUE(run.out.empty()) << run.out;
  }
}

TEST(CliIntegerOptions, SinceRefusesDurationsAndTimesNoClockCanHold) {
  for (const char* since : {"99999999999w", "999999999999999999999d", "9999-01-01T00:00:00Z", "-7d"}) {
    const CliRun run = RunCli({"dlq", "list", "--since", since});
    EXPECT_EQ(run.exit_code, cli::kExitUsage) << since << run.err;
    EXPECT_THAT(run.err, HasSubstr(std::string("--since: '") + since + "'")) << since;
  }
}

TEST(CliIntegerOptions, ValuesInRangeGetPastParsing) {
  // A valid --limit reaches the next check: here, that no database was given (also exit 2, but
  // a different message), so nothing about the number.
  ::unsetenv("DATABASE_URL");
  const CliRun run = RunCli({"dlq", "list", "--limit", "1000000"});
  EXPECT_EQ(run.exit_code, cli::kExitUsage);
  EXPECT_THAT(run.err, Not(HasSubstr("--limit")));
}

// ---- URLs in debug-event previews ----

constexpr const char* kWebhookConfig = R"(
[[observers]]
name = "hook"
entity = "Order"
event_type = "INSERT"

[[observers.actions]]
type = "webhook"
url = "https://ops:hunter2@hooks.example.com/orders?token=abc123&tenant=acme"
)";

TEST(CliSecrets, DebugEventRedactsTheWebhookUrlsCredentials) {
  const std::string config = WriteTempFile("config.toml", kWebhookConfig);
  const std::string event = ExamplePath("events/order-created.json");
  for (const char* format : {"json", "text"}) {
    const CliRun run = RunCli({"debug-event", "--config", config, "--event", event, "--format", format});
    ASSERT_EQ(run.exit_code, cli::kExitOk) << run.err;
    EXPECT_THAT(run.out, HasSubstr("https://<redacted>@hooks.example.com/orders?token=<redacted>&tenant=acme"))
        << format;
    EXPECT_THAT(run.out, AllOf(Not(HasSubstr("hunter2")), Not(HasSubstr("abc123")))) << format;
  }
}

TEST(CliSecrets, ValidateQuotesTheFileNotTheEnvironment) {
  const std::string config = WriteTempFile("config.toml", R"(
[[observers]]
name = "orders"
entity = "Order"
event_type = "INSERT"
condition = "status == ${WANTED}"
actions = [{ type = "webhook", url = "https://ops:hunter2@${HOOK_HOST}:99999/", signing_secret_env = "HOOK_KEY" }]
)");
  ::setenv("WANTED", "paid and topsecret", 1);
  ::setenv("HOOK_HOST", "internal-host", 1);
  ::setenv("HOOK_KEY", "whsec_s3cr3t!value", 1);
  for (const char* format : {"text", "json"}) {
    const CliRun run = RunCli({"validate", config, "--format", format});
    EXPECT_EQ(run.exit_code, cli::kExitInvalidInput) << run.err;
    const std::string all = run.out + run.err;
    EXPECT_THAT(all, AllOf(HasSubstr("status == ${WANTED}"), HasSubstr("https://<redacted>@${HOOK_HOST}:99999/"),
                           HasSubstr("the value of $HOOK_KEY")))
        << format;
    for (const char* leaked : {"topsecret", "hunter2", "internal-host", "s3cr3t"}) {
      EXPECT_THAT(all, Not(HasSubstr(leaked))) << format << ": " << leaked;
    }
  }
  ::unsetenv("WANTED");
  ::unsetenv("HOOK_HOST");
  ::unsetenv("HOOK_KEY");
}

// The evaluator's messages quote the condition: for one from the environment, debug-event says
// that it failed and withholds them (the listener's dead letters say the same).
TEST(CliSecrets, DebugEventWithholdsEvaluationErrorsOfAConditionFromTheEnvironment) {
  const std::string config = WriteTempFile("config.toml", R"(
[[observers]]
name = "changes"
entity = "Order"
event_type = "UPDATE"
condition = "${COND}"
actions = [{ type = "log", message_template = "x" }]
)");
  const std::string event = WriteTempFile("event.json", R"({
    "id": "7d3f8a52-3c1e-4b8e-9a55-2f1c0e6d9b10", "object_type": "Order", "modification_type": "update",
    "object_id": "0b6e2f3c-8d4a-4f7e-b1a2-9c3d5e7f1a2b", "created_at": "2026-11-29T12:00:00Z",
    "object_data": {"status": "paid"}})");
  ::setenv("COND", "field_changed(hunter2_field)", 1);
  for (const char* format : {"json", "text"}) {
    const CliRun run = RunCli({"debug-event", "--config", config, "--event", event, "--format", format});
    EXPECT_EQ(run.exit_code, cli::kExitOk) << run.err;
    EXPECT_THAT(run.out, AllOf(HasSubstr("condition error: its condition (from the environment)"),
                               HasSubstr("withheld"), Not(HasSubstr("hunter2"))))
        << format;
  }
  ::unsetenv("COND");
}

}  // namespace
}  // namespace fraiseql
