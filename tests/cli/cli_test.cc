// The command line itself and `validate`.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_test_util.h"

namespace fraiseql {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;
using testing::RunCli;
using testing::WriteTempFile;

constexpr const char* kValidConfig = R"x(
[[observers]]
name = "orders"
entity = "Order"
event_type = "INSERT"

[[observers.actions]]
type = "webhook"
url = "https://example.com/hook"

[[observers.actions]]
type = "log"
message_template = "order {{ data.id }}"
)x";

TEST(Cli, VersionPrintsTheVersion) {
  testing::CliRun run = RunCli({"--version"});
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.out, "fraiseql-observer " FRAISEQL_VERSION "\n");
}

TEST(Cli, HelpListsSubcommands) {
  testing::CliRun run = RunCli({"--help"});
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_THAT(run.out, HasSubstr("validate"));
  EXPECT_THAT(run.out, HasSubstr("debug-event"));
}

TEST(Cli, EverySubcommandHasHelp) {
  for (const char* subcommand : {"validate", "debug-event"}) {
    testing::CliRun run = RunCli({subcommand, "--help"});
    EXPECT_EQ(run.exit_code, 0) << subcommand;
    EXPECT_THAT(run.out, HasSubstr("--format")) << subcommand;
  }
}

TEST(Cli, NoSubcommandIsAUsageError) {
  testing::CliRun run = RunCli({});
  EXPECT_EQ(run.exit_code, cli::kExitUsage);
  EXPECT_THAT(run.err, HasSubstr("fraiseql-observer --help"));
}

TEST(Cli, UnknownOptionIsAUsageError) {
  testing::CliRun run = RunCli({"validate", "x.toml", "--frmat", "json"});
  EXPECT_EQ(run.exit_code, cli::kExitUsage);
  EXPECT_THAT(run.err, HasSubstr("--frmat"));
}

TEST(Cli, BadFormatIsAUsageError) {
  testing::CliRun run = RunCli({"validate", "x.toml", "--format", "xml"});
  EXPECT_EQ(run.exit_code, cli::kExitUsage);
  EXPECT_THAT(run.err, HasSubstr("xml"));
}

TEST(Validate, ValidFilePrintsOneSummaryLine) {
  const std::string path = WriteTempFile("ok.toml", kValidConfig);
  testing::CliRun run = RunCli({"validate", path});
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.out, path + ": valid: 1 observer (1 enabled), 2 actions (log 1, webhook 1), 0 warnings\n");
  EXPECT_THAT(run.err, IsEmpty());
}

TEST(Validate, InvalidFilePrintsEveryErrorWithItsLocation) {
  const std::string path = WriteTempFile("bad.toml", R"x([[observers]]
entity = "Order"
event_type = "INSRT"
condition = "total >"
actions = [{ type = "log", message_template = "x", levl = "info" }]
)x");
  testing::CliRun run = RunCli({"validate", path});
  EXPECT_EQ(run.exit_code, cli::kExitInvalidInput);
  EXPECT_THAT(run.out, IsEmpty());
  EXPECT_THAT(run.err, HasSubstr(path + ":3:14: error: unknown event_type \"INSRT\""));
  EXPECT_THAT(run.err, HasSubstr(path + ":4:"));
  EXPECT_THAT(run.err, HasSubstr(path + ":5:"));
  EXPECT_THAT(run.err, HasSubstr("did you mean 'level'?"));
  EXPECT_THAT(run.err, HasSubstr(path + ": invalid: 3 errors, 0 warnings"));
}

TEST(Validate, WarningsAreShownButDoNotFail) {
  const std::string path = WriteTempFile("warn.toml", R"x([[observers]]
entity = "Order"
event_type = "INSERT"
actions = [{ type = "log", message_template = "{{ event.bogus }}" }]
)x");
  testing::CliRun run = RunCli({"validate", path});
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_THAT(run.err, HasSubstr(path + ":4:48: warning:"));
  EXPECT_THAT(run.out, HasSubstr("1 warning\n"));
}

// FraiseQL keys with no effect yet: the user sees each one, where it is, and the count.
constexpr const char* kConfigWithNoEffectKeys = R"x([[observers]]
entity = "Order"
event_type = "INSERT"
actions = [{ type = "log", message_template = "x" }]

[job_queue]
max_retries = 3

[redis]
url = "redis://cache:6379"
)x";

TEST(Validate, KeysWithNoEffectYetAreWarningsInTheSummary) {
  const std::string path = WriteTempFile("no-effect.toml", kConfigWithNoEffectKeys);
  testing::CliRun run = RunCli({"validate", path});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.err, HasSubstr(path + ":7:15: warning: '[job_queue].max_retries' is accepted for FraiseQL "
                                        "compatibility but has no effect in this version; use each observer's "
                                        "[observers.retry] max_attempts"));
  EXPECT_THAT(run.err, HasSubstr(path + ":9:1: warning: [redis] is accepted for FraiseQL compatibility but has no "
                                        "effect in this version"));
  EXPECT_EQ(run.out, path + ": valid: 1 observer (1 enabled), 1 action (log 1), 2 warnings\n");
}

TEST(Validate, KeysWithNoEffectYetAreWarningsInTheJsonReport) {
  const std::string path = WriteTempFile("no-effect.toml", kConfigWithNoEffectKeys);
  testing::CliRun run = RunCli({"validate", path, "--format", "json"});
  EXPECT_EQ(run.exit_code, 0) << run.out;
  const nlohmann::json report = nlohmann::json::parse(run.out);
  EXPECT_EQ(report["valid"], true);
  EXPECT_EQ(report["errors"], 0);
  EXPECT_EQ(report["warnings"], 2);
  ASSERT_EQ(report["diagnostics"].size(), 2u);
  const nlohmann::json& first = report["diagnostics"][0];
  EXPECT_EQ(first["severity"], "warning");
  EXPECT_EQ(first["line"], 7);
  EXPECT_EQ(first["column"], 15);
  EXPECT_THAT(first["message"].get<std::string>(), HasSubstr("has no effect in this version"));
}

TEST(Validate, NatsTransportIsRefused) {
  const std::string path = WriteTempFile("nats.toml", R"x([[observers]]
entity = "Order"
event_type = "INSERT"
actions = [{ type = "log", message_template = "x" }]

[transport]
transport = "nats"
)x");
  testing::CliRun run = RunCli({"validate", path});
  EXPECT_EQ(run.exit_code, cli::kExitInvalidInput);
  EXPECT_THAT(run.out, IsEmpty());
  EXPECT_THAT(run.err, HasSubstr(path + ":7:13: error: '[transport].transport = \"nats\"': NATS transport is not "
                                        "supported in this version (it comes with issue 12); the daemon uses the "
                                        "PostgreSQL job queue"));
  EXPECT_THAT(run.err, HasSubstr(path + ": invalid: 1 error, 0 warnings"));
}

TEST(Validate, JsonReportForAValidFile) {
  const std::string path = WriteTempFile("ok.toml", kValidConfig);
  testing::CliRun run = RunCli({"validate", path, "--format", "json"});
  EXPECT_EQ(run.exit_code, 0);
  const nlohmann::json report = nlohmann::json::parse(run.out);
  EXPECT_EQ(report["valid"], true);
  EXPECT_EQ(report["observers"], 1);
  EXPECT_EQ(report["actions"], 2);
  EXPECT_EQ(report["diagnostics"], nlohmann::json::array());
}

TEST(Validate, JsonReportForAnInvalidFile) {
  const std::string path = WriteTempFile(
      "bad.toml", "[[observers]]\nentity = 3\nevent_type = \"INSERT\"\nactions = [{ type = \"log\", message_template = \"x\" }]\n");
  testing::CliRun run = RunCli({"validate", path, "--format", "json"});
  EXPECT_EQ(run.exit_code, cli::kExitInvalidInput);
  const nlohmann::json report = nlohmann::json::parse(run.out);
  EXPECT_EQ(report["valid"], false);
  ASSERT_GE(report["diagnostics"].size(), 1u);
  const nlohmann::json& first = report["diagnostics"][0];
  EXPECT_EQ(first["severity"], "error");
  EXPECT_EQ(first["file"], path);
  EXPECT_EQ(first["line"], 2);
  EXPECT_EQ(first["column"], 10);
  EXPECT_THAT(first["message"].get<std::string>(), StartsWith("'observers[0].entity' must be a string"));
}

TEST(Validate, MissingFile) {
  testing::CliRun run = RunCli({"validate", "/nonexistent.toml"});
  EXPECT_EQ(run.exit_code, cli::kExitInvalidInput);
  EXPECT_THAT(run.err, HasSubstr("/nonexistent.toml:1:1: error: cannot open the config file"));
}

TEST(Validate, ShippedExamplesAreValid) {
  testing::CliRun run = RunCli({"validate", testing::ExamplePath("observers.toml")});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.err, IsEmpty());
}

}  // namespace
}  // namespace fraiseql
