// Deep and huge input through the commands that read it (issue 10, section 4): `validate` and
// `run` on a config with a 40,000-segment key, `debug-event` on 100,000 nested objects, a huge
// string and a body template nested past the JSON limit. Each crashed the process before; now each
// is refused, before any recursive code sees it, with an error that says where.
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cli_test_util.h"
#include "common/json_limits.h"
#include "config/toml_limits.h"

namespace fraiseql {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using nlohmann::json;
using testing::ExamplePath;
using testing::RunCli;
using testing::WriteTempFile;

constexpr const char* kConfig = R"([[observers]]
name = "orders"
entity = "Order"
event_type = "INSERT"

[[observers.actions]]
type = "log"
message_template = "order {{ data.id }}"
)";

// "a.a.a ... = true" with `segments` segments.
std::string DottedKeyLine(size_t segments) {
  std::string line = "a";
  for (size_t i = 1; i < segments; ++i) line += ".a";
  return line + " = true\n";
}

// An event whose data is {"a": {"a": ... {"a": 1} ...}}, `depth` objects deep (data included).
// An event whose data is {"a": {"a": ... {"a": 1} ...}}, `depth` objects deep; 0 gives {}.
std::string EventWithDepth(size_t depth) {
  std::string data = "{}";
  if (depth > 0) {
    data.clear();
    for (size_t i = 0; i < depth; ++i) data += "{\"a\":";
    data += "1" + std::string(depth, '}');
  }
  return R"({"id": "c1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8", "event_type": "INSERT", "entity_type": "Order",
"entity_id": "0b6e2f3c-8d4a-4f7e-b1a2-9c3d5e7f1a2b", "timestamp": "2026-11-29T11:59:58.000000Z",
"data": )" + data + "}";
}

TEST(ConfigLimits, ValidateRefusesAFortyThousandSegmentKeyWithItsLocation) {
  const std::string path = WriteTempFile("deep.toml", std::string(kConfig) + DottedKeyLine(40'000));
  const testing::CliRun run = RunCli({"validate", path});
  EXPECT_EQ(run.exit_code, cli::kExitInvalidInput);
  EXPECT_THAT(run.out, IsEmpty());
  EXPECT_THAT(run.err, HasSubstr(path + ":9:65: error: dotted key has more than 32 segments"));
  EXPECT_THAT(run.err, HasSubstr(path + ": invalid: 1 error, 0 warnings"));
}

TEST(ConfigLimits, RunRefusesItBeforeStarting) {
  const std::string path = WriteTempFile("deep.toml", std::string(kConfig) + DottedKeyLine(40'000));
  const testing::CliRun run = RunCli({"run", "--config", path});
  EXPECT_EQ(run.exit_code, cli::kExitInvalidInput);
  EXPECT_THAT(run.err, HasSubstr(path + ":9:65: error: dotted key has more than 32 segments"));
  EXPECT_THAT(run.err, HasSubstr("fix the config first"));
}

TEST(ConfigLimits, ValidateRefusesDeepInlineArrays) {
  const std::string path = WriteTempFile("deep.toml", std::string(kConfig) + "x = " + std::string(100'000, '[') + "\n");
  const testing::CliRun run = RunCli({"validate", path});
  EXPECT_EQ(run.exit_code, cli::kExitInvalidInput);
  // x sits at depth 5 (observers, its element, actions, its element, x): the 61st [ is the 65th level.
  EXPECT_THAT(run.err, HasSubstr(path + ":9:65: error: nesting is deeper than 64 levels"));
}

TEST(ConfigLimits, ValidateRefusesAFileOverTheSizeLimit) {
  const std::string path =
      WriteTempFile("huge.toml", std::string(kConfig) + "# " + std::string(kDefaultTomlMaxBytes, '#') + "\n");
  const testing::CliRun run = RunCli({"validate", path});
  EXPECT_EQ(run.exit_code, cli::kExitInvalidInput);
  EXPECT_THAT(run.err, HasSubstr(path + ":1:1: error: the config file is larger than 4 MiB"));
}

TEST(ConfigLimits, ValidateAcceptsAKeyAtTheSegmentLimit) {
  // An unknown key still, but one toml++ reads: the error is the loader's, not the limit's.
  const std::string path = WriteTempFile("ok.toml", std::string(kConfig) + DottedKeyLine(32));
  const testing::CliRun run = RunCli({"validate", path});
  EXPECT_THAT(run.err, HasSubstr("unknown key 'a'"));
  EXPECT_THAT(run.err, ::testing::Not(HasSubstr("segments")));
}

class EventLimits : public ::testing::Test {
 protected:
  testing::CliRun Debug(const std::string& event_path, const std::string& format = "json") {
    return RunCli({"debug-event", "--config", config_, "--event", event_path, "--format", format});
  }
  std::string config_ = WriteTempFile("config.toml", kConfig);
};

TEST_F(EventLimits, AHundredThousandNestedObjectsAreRefusedWithTheirPlace) {
  const std::string event = WriteTempFile("deep.json", EventWithDepth(100'000));
  const testing::CliRun run = Debug(event);
  EXPECT_EQ(run.exit_code, cli::kExitInvalidInput);
  EXPECT_THAT(run.out, IsEmpty());
  // The event object is level 1, so the 128th object of data is level 129.
  EXPECT_THAT(run.err, HasSubstr(event + ":3:"));
  EXPECT_THAT(run.err, HasSubstr(": error: JSON nests deeper than 128 levels of arrays and objects (at byte offset "));
}

TEST_F(EventLimits, AHundredThousandNestedArraysAreRefused) {
  const std::string event = WriteTempFile("arrays.json", std::string(100'000, '[') + std::string(100'000, ']'));
  const testing::CliRun run = Debug(event, "text");
  EXPECT_EQ(run.exit_code, cli::kExitInvalidInput);
  EXPECT_THAT(run.err, HasSubstr(event + ":1:129: error: JSON nests deeper than 128 levels"));
}

TEST_F(EventLimits, AnEventAtTheDepthLimitIsShown) {
  const std::string event = WriteTempFile("deepest.json", EventWithDepth(kDefaultJsonMaxDepth - 1));
  const testing::CliRun run = Debug(event);
  ASSERT_EQ(run.exit_code, cli::kExitOk) << run.err;
  const json report = json::parse(run.out);
  EXPECT_EQ(report["observers"][0]["matched"], true);
  size_t depth = 0;
  for (const json* at = &report["event"]["data"]; at->is_object(); at = &(*at)["a"]) ++depth;
  EXPECT_EQ(depth, kDefaultJsonMaxDepth - 1);

  const std::string deeper = WriteTempFile("deeper.json", EventWithDepth(kDefaultJsonMaxDepth));
  EXPECT_EQ(Debug(deeper).exit_code, cli::kExitInvalidInput);
}

TEST_F(EventLimits, AChangeLogRowIsUnderTheSameLimits) {
  std::string object_data = std::string(200, '[') + std::string(200, ']');
  const std::string row = R"({"pk_entity_change_log": 7, "id": "7d3f8a52-3c1e-4b8e-9a55-2f1c0e6d9b10",
"object_type": "Order", "modification_type": "INSERT", "object_id": "0b6e2f3c-8d4a-4f7e-b1a2-9c3d5e7f1a2b",
"object_data": )" + object_data + "}";
  const std::string event = WriteTempFile("row.json", row);
  const testing::CliRun run = Debug(event);
  EXPECT_EQ(run.exit_code, cli::kExitInvalidInput);
  // The row is level 1: the 128th [ of object_data, after its 15-byte key, is level 129.
  EXPECT_THAT(run.err, HasSubstr(event + ":3:143: error: JSON nests deeper than 128 levels"));
}

TEST_F(EventLimits, AHugeStringOverTheSizeLimitIsRefusedWithoutBeingParsed) {
  const std::string event = WriteTempFile("huge.json", "{\"data\": \"" + std::string(kDefaultJsonMaxBytes, 'x') + "\"}");
  const testing::CliRun run = Debug(event);
  EXPECT_EQ(run.exit_code, cli::kExitInvalidInput);
  EXPECT_THAT(run.err, HasSubstr(event + ": error: the event file is larger than 64 MiB, the limit for JSON input"));
}

TEST_F(EventLimits, AHugeStringWithinTheLimitIsFine) {
  const std::string big(1 << 20, 'x');
  std::string text = EventWithDepth(0);
  text.insert(text.rfind('}'), ", \"note\": \"" + big + "\"");
  text.replace(text.find("\"data\": {}"), 10, "\"data\": {\"note\": \"" + big + "\"}");
  const std::string event = WriteTempFile("big.json", text);
  const testing::CliRun run = Debug(event);
  ASSERT_EQ(run.exit_code, cli::kExitOk) << run.err.substr(0, 500);
  EXPECT_EQ(json::parse(run.out)["event"]["data"]["note"].get<std::string>().size(), big.size());
}

TEST_F(EventLimits, ANumberTooLargeForADoubleIsAnErrorNotACrash) {
  // nlohmann reports 1e309 with out_of_range, not parse_error: an error with its place, never an
  // exception (the listener reads change-log rows with the same function).
  std::string text = EventWithDepth(0);
  text.replace(text.find("\"data\": {}"), 10, "\"data\": {\"total\": 1e309}");
  const std::string event = WriteTempFile("overflow.json", text);
  const testing::CliRun run = Debug(event);
  EXPECT_EQ(run.exit_code, cli::kExitInvalidInput);
  EXPECT_THAT(run.err, HasSubstr(event + ":3:"));
  EXPECT_THAT(run.err, HasSubstr(": error: invalid JSON at byte offset "));
  EXPECT_THAT(run.err, HasSubstr("number overflow parsing '1e309'"));
}

TEST(PreviewLimits, ABodyTemplateNestedPastTheLimitIsShownAsItsText) {
  // A template is config, under the TOML limits, but a string in it may hold any JSON text: the
  // preview shows it as what would be sent, a string, rather than as a value it would recurse into.
  const std::string deep_body = std::string(5'000, '[') + "\"{{ data.id }}\"" + std::string(5'000, ']');
  const std::string config = WriteTempFile("config.toml", R"([[observers]]
name = "hook"
entity = "Order"
event_type = "INSERT"

[[observers.actions]]
type = "webhook"
url = "https://hooks.example.com/x"
body_template = """
)" + deep_body + "\n\"\"\"\n");
  const testing::CliRun run =
      RunCli({"debug-event", "--config", config, "--event", ExamplePath("events/order-created.json"), "--format", "json"});
  ASSERT_EQ(run.exit_code, cli::kExitOk) << run.err;
  const json body = json::parse(run.out)["observers"][0]["actions"][0]["rendered"]["body"];
  ASSERT_TRUE(body.is_string());
  EXPECT_THAT(body.get<std::string>(), HasSubstr("[[[\"0b6e2f3c-8d4a-4f7e-b1a2-9c3d5e7f1a2b\"]]]"));
}

}  // namespace
}  // namespace fraiseql
