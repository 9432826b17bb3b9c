// The acceptance test of the vocabulary: FraiseQL's four example files, kept in examples/anchor
// with the anchor's tables, keys and values (only the comments are ours).
#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config_test_util.h"

namespace fraiseql {
namespace {

const std::map<std::string, std::string> kAnchorEnvironment = {
    {"SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T0/B0/X"},
    {"API_TOKEN", "token-123"},
    {"ANALYTICS_WEBHOOK_URL", "https://analytics.example.com/orders"},
};

LoadOptions AnchorOptions() {
  LoadOptions options;
  options.getenv = [](std::string_view name) -> std::optional<std::string> {
    auto it = kAnchorEnvironment.find(std::string(name));
    return it == kAnchorEnvironment.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  return options;
}

const char* kFiles[] = {"01-postgresql-only.toml", "02-postgresql-redis.toml",
                        "03-nats-distributed.toml", "04-multi-database-bridge.toml"};

std::string OwnExample(const std::string& name) {
  return std::string(FRAISEQL_SOURCE_DIR) + "/examples/anchor/" + name;
}

class AnchorExample : public ::testing::TestWithParam<const char*> {};

TEST_P(AnchorExample, OwnCopyValidates) {
  LoadResult result = LoadConfigFile(OwnExample(GetParam()), AnchorOptions());
  EXPECT_TRUE(result.ok()) << testing::AllDiagnostics(result);
}

INSTANTIATE_TEST_SUITE_P(Files, AnchorExample, ::testing::ValuesIn(kFiles));

TEST(AnchorExamples, MissingVariableIsNamed) {
  LoadResult result = LoadConfigFile(OwnExample("03-nats-distributed.toml"), LoadOptions{
      [](std::string_view name) -> std::optional<std::string> {
        if (name == "API_TOKEN") return std::nullopt;
        return "https://example.com/x";
      }});
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(testing::AllDiagnostics(result), ::testing::HasSubstr("'API_TOKEN' is not set"));
}

TEST(AnchorExamples, WhatTheyMean) {
  LoadResult result = LoadConfigFile(OwnExample("02-postgresql-redis.toml"), AnchorOptions());
  ASSERT_TRUE(result.ok()) << testing::AllDiagnostics(result);
  const Config& config = *result.config;
  ASSERT_EQ(config.observers.size(), 3u);
  EXPECT_EQ(config.observers[1].condition->source(), "data.status == 'shipped'");
  const auto& slack = std::get<SlackAction>(config.observers[2].actions[0].spec);
  EXPECT_EQ(slack.message_template->source(), "🎉 High-value order! ${{ data.total }} from {{ data.customer_email }}");
  EXPECT_TRUE(config.performance.enable_dedup);
  EXPECT_EQ(config.redis->dedup_window_secs, 300u);

  LoadResult bridge = LoadConfigFile(OwnExample("04-multi-database-bridge.toml"), AnchorOptions());
  ASSERT_TRUE(bridge.ok()) << testing::AllDiagnostics(bridge);
  EXPECT_TRUE(bridge.config->observers.empty());
  EXPECT_TRUE(bridge.config->transport.run_bridge);
  EXPECT_EQ(bridge.config->transport.bridge.transport_name, "pg_to_nats_db1");
  EXPECT_EQ(bridge.config->transport.nats.jetstream.max_bytes, 10'737'418'240);
}

TEST(ProjectExamples, ObserversTomlValidatesWithoutWarnings) {
  LoadResult result = LoadConfigFile(std::string(FRAISEQL_SOURCE_DIR) + "/examples/observers.toml");
  ASSERT_TRUE(result.ok()) << testing::AllDiagnostics(result);
  EXPECT_EQ(result.warning_count(), 0u) << testing::AllDiagnostics(result);
  EXPECT_EQ(result.config->observers.size(), 4u);
}

}  // namespace
}  // namespace fraiseql
