// The top-level sections: defaults, ranges, and cross-key rules.
#include "config_test_util.h"

namespace fraiseql {
namespace {

using ::testing::HasSubstr;
using testing::AllDiagnostics;
using testing::kMinimalObserver;
using testing::Load;
using testing::OnlyError;

LoadResult LoadSection(std::string_view section, std::map<std::string, std::string> env = {}) {
  return Load(std::string(kMinimalObserver) + std::string(section), std::move(env));
}

TEST(ConfigSections, DefaultsWhenAbsent) {
  LoadResult result = Load(kMinimalObserver);
  ASSERT_TRUE(result.ok()) << AllDiagnostics(result);
  const Config& config = *result.config;
  EXPECT_EQ(config.performance.max_in_flight, 256u);
  EXPECT_EQ(config.performance.max_in_flight_per_target, 32u);
  EXPECT_EQ(config.database.batch_size, 1000u);
  EXPECT_FALSE(config.database.url.has_value());
  EXPECT_EQ(config.metrics.listen, "127.0.0.1:9464");
  EXPECT_EQ(config.transport.kind, TransportConfig::Kind::kPostgres);
  EXPECT_EQ(config.circuit_breaker.window_size, 20u);
  EXPECT_EQ(config.circuit_breaker.minimum_calls, 10u);
  EXPECT_EQ(config.circuit_breaker.wait_in_open, std::chrono::milliseconds(30000));
  EXPECT_FALSE(config.redis.has_value());
  EXPECT_FALSE(config.email.has_value());
}

TEST(ConfigSections, PerformanceDurationsAndCaps) {
  LoadResult result = LoadSection(R"x(
[performance]
max_in_flight = 512
max_in_flight_per_target = 8
shutdown_timeout = "45s"
concurrent_timeout_ms = 1500
)x");
  ASSERT_TRUE(result.ok()) << AllDiagnostics(result);
  EXPECT_EQ(result.config->performance.max_in_flight, 512u);
  EXPECT_EQ(result.config->performance.max_in_flight_per_target, 8u);
  EXPECT_EQ(result.config->performance.shutdown_timeout, std::chrono::seconds(45));
  EXPECT_EQ(result.config->performance.concurrent_timeout, std::chrono::milliseconds(1500));
}

TEST(ConfigSections, DurationUnits) {
  for (auto [text, expected] : {std::pair{"\"500ms\"", std::chrono::milliseconds(500)},
                                {"\"2m\"", std::chrono::milliseconds(120000)},
                                {"\"1h\"", std::chrono::milliseconds(3600000)},
                                {"12", std::chrono::milliseconds(12000)}}) {
    LoadResult result = LoadSection(std::string("[performance]\nshutdown_timeout = ") + text + "\n");
    ASSERT_TRUE(result.ok()) << AllDiagnostics(result);
    EXPECT_EQ(result.config->performance.shutdown_timeout, expected) << text;
  }
  LoadResult bad = LoadSection("[performance]\nshutdown_timeout = \"soon\"\n");
  EXPECT_THAT(OnlyError(bad).message, HasSubstr("must be a duration such as \"30s\""));
}

TEST(ConfigSections, HugeDurationsAreRejectedNotOverflowed) {
  for (const char* value : {"9223372036854775807", "\"999999999999h\""}) {
    LoadResult result = LoadSection(std::string("[performance]\nshutdown_timeout = ") + value + "\n");
    EXPECT_THAT(OnlyError(result).message, HasSubstr("must be a duration")) << value;
  }
}

TEST(ConfigSections, PerTargetCapAboveGlobalCapIsAnError) {
  LoadResult result = LoadSection("[performance]\nmax_in_flight = 10\nmax_in_flight_per_target = 11\n");
  EXPECT_THAT(OnlyError(result).message, HasSubstr("exceeds 'max_in_flight' (10)"));
}

TEST(ConfigSections, WrongTypeIsNamed) {
  LoadResult result = LoadSection("[performance]\nenable_dedup = \"yes\"\n");
  Diagnostic error = OnlyError(result);
  EXPECT_EQ(error.message, "'[performance].enable_dedup' must be true or false, not a string");
  EXPECT_EQ(error.location.line, 10u);
  EXPECT_EQ(error.location.column, 16u);
}

TEST(ConfigSections, DatabaseUrlFromEnvironmentIsSecret) {
  LoadResult result = LoadSection("[database]\nurl_env = \"PG\"\nlistener_id = \"primary\"\n",
                                  {{"PG", "postgres://u:p@h/db"}});
  ASSERT_TRUE(result.ok()) << AllDiagnostics(result);
  ASSERT_TRUE(result.config->database.url.has_value());
  EXPECT_EQ(result.config->database.url->Reveal(), "postgres://u:p@h/db");
  EXPECT_EQ(result.config->database.listener_id, "primary");
}

TEST(ConfigSections, RedisRangesFollowTheAnchor) {
  LoadResult result = LoadSection("[redis]\ndedup_window_secs = 3601\nurl = \"http://x\"\n");
  EXPECT_EQ(result.error_count(), 2u) << AllDiagnostics(result);
  EXPECT_THAT(AllDiagnostics(result), HasSubstr("between 1 and 3600"));
  EXPECT_THAT(AllDiagnostics(result), HasSubstr("must start with redis://"));
}

TEST(ConfigSections, TransportNatsAndBridge) {
  LoadResult result = LoadSection(R"x(
[transport]
transport = "nats"
run_bridge = true

[transport.nats]
url = "nats://a:4222,nats://b:4222"

[transport.nats.jetstream]
max_deliver = 5

[transport.bridge]
batch_size = 250
)x");
  ASSERT_TRUE(result.ok()) << AllDiagnostics(result);
  const TransportConfig& transport = result.config->transport;
  EXPECT_EQ(transport.kind, TransportConfig::Kind::kNats);
  EXPECT_EQ(transport.nats.urls, (std::vector<std::string>{"nats://a:4222", "nats://b:4222"}));
  EXPECT_EQ(transport.nats.jetstream.max_deliver, 5u);
  EXPECT_EQ(transport.bridge.batch_size, 250u);
}

TEST(ConfigSections, BridgeNeedsNats) {
  LoadResult result = LoadSection("[transport]\nrun_bridge = true\n");
  EXPECT_THAT(OnlyError(result).message, HasSubstr("needs transport = \"nats\""));
}

TEST(ConfigSections, JetStreamDedupWindowRange) {
  LoadResult result = LoadSection("[transport]\ntransport = \"nats\"\n[transport.nats.jetstream]\ndedup_window_minutes = 61\n");
  Diagnostic error = OnlyError(result);
  EXPECT_THAT(error.message, HasSubstr("'[transport].nats.jetstream.dedup_window_minutes' is 61"));
}

TEST(ConfigSections, EmailSection) {
  LoadResult result = LoadSection(R"x(
[email]
host = "smtp.example.com"
tls = "implicit"
username_env = "SMTP_USER"
password_env = "SMTP_PASS"
from = "noreply@example.com"
)x",
                                  {{"SMTP_USER", "u"}, {"SMTP_PASS", "p"}});
  ASSERT_TRUE(result.ok()) << AllDiagnostics(result);
  const EmailConfig& email = *result.config->email;
  EXPECT_EQ(email.port, 465);  // implicit TLS default
  EXPECT_EQ(email.tls, EmailConfig::Tls::kImplicit);
  EXPECT_EQ(email.password->Reveal(), "p");
}

TEST(ConfigSections, EmailNeedsHostAndFrom) {
  LoadResult result = LoadSection("[email]\nport = 25\n");
  EXPECT_EQ(result.error_count(), 2u) << AllDiagnostics(result);
}

TEST(ConfigSections, SecurityAllowListMustBeCidrs) {
  LoadResult good = LoadSection("[security]\nallow_private_targets = [\"127.0.0.0/8\", \"::1/128\"]\n");
  ASSERT_TRUE(good.ok()) << AllDiagnostics(good);
  EXPECT_EQ(good.config->security.allow_private_targets.size(), 2u);
  LoadResult bad = LoadSection("[security]\nallow_private_targets = [\"127.0.0.1\", \"10.0.0.0/33\"]\n");
  EXPECT_EQ(bad.error_count(), 2u) << AllDiagnostics(bad);
  EXPECT_THAT(AllDiagnostics(bad), HasSubstr("\"127.0.0.1\" is not a CIDR range"));
}

TEST(ConfigSections, CircuitBreakerRules) {
  LoadResult good = LoadSection(R"x(
[circuit_breaker]
window_size = 50
minimum_calls = 20
failure_rate_threshold = 25.5
wait_in_open_ms = 1000
max_wait_in_open_ms = 8000
)x");
  ASSERT_TRUE(good.ok()) << AllDiagnostics(good);
  EXPECT_DOUBLE_EQ(good.config->circuit_breaker.failure_rate_threshold, 25.5);
  LoadResult bad = LoadSection("[circuit_breaker]\nwindow_size = 5\nminimum_calls = 6\nfailure_rate_threshold = 0\n");
  EXPECT_EQ(bad.error_count(), 2u) << AllDiagnostics(bad);
  EXPECT_THAT(AllDiagnostics(bad), HasSubstr("exceeds 'window_size' (5)"));
}

TEST(ConfigSections, MetricsListenMustBeHostPort) {
  LoadResult result = LoadSection("[metrics]\nlisten = \"localhost\"\n");
  EXPECT_THAT(OnlyError(result).message, HasSubstr("must be host:port"));
}

TEST(ConfigSections, JobQueueAndElasticsearch) {
  LoadResult result = LoadSection(R"x(
[job_queue]
batch_size = 200
lock_timeout_ms = 5000

[elasticsearch]
url = "http://127.0.0.1:9200"
index_prefix = "shop"
)x");
  ASSERT_TRUE(result.ok()) << AllDiagnostics(result);
  EXPECT_EQ(result.config->job_queue->batch_size, 200u);
  EXPECT_EQ(result.config->elasticsearch->index_prefix, "shop");
}

TEST(ConfigSections, DedupWithoutRedisWarns) {
  LoadResult result = LoadSection("[performance]\nenable_dedup = true\n");
  ASSERT_TRUE(result.ok()) << AllDiagnostics(result);
  ASSERT_EQ(result.warning_count(), 1u);
  EXPECT_THAT(result.diagnostics[0].message, HasSubstr("no [redis] section"));
}

TEST(ConfigSections, UnknownNestedKey) {
  LoadResult result = LoadSection("[transport]\ntransport = \"nats\"\n[transport.nats]\nstream = \"x\"\n");
  EXPECT_THAT(OnlyError(result).message,
              HasSubstr("unknown key 'stream' in [transport].nats; did you mean 'stream_name'?"));
}

}  // namespace
}  // namespace fraiseql
