// The top-level sections: defaults, ranges, and cross-key rules.
#include "config_test_util.h"

namespace fraiseql {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
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

TEST(ConfigSections, DatabaseBatchMaxBytesHasADefaultAndBounds) {
  LoadResult defaults = LoadSection("");
  ASSERT_TRUE(defaults.ok()) << AllDiagnostics(defaults);
  EXPECT_EQ(defaults.config->database.batch_max_bytes, uint64_t{32} << 20);
  LoadResult set = LoadSection("[database]\nbatch_max_bytes = 1048576\n");
  ASSERT_TRUE(set.ok()) << AllDiagnostics(set);
  EXPECT_EQ(set.config->database.batch_max_bytes, uint64_t{1} << 20);
  EXPECT_EQ(OnlyError(LoadSection("[database]\nbatch_max_bytes = 1000\n")).message,
            "'[database].batch_max_bytes' is 1000; it must be between 65536 and 1073741824");
  EXPECT_EQ(OnlyError(LoadSection("[database]\nbatch_max_bytes = 2000000000\n")).message,
            "'[database].batch_max_bytes' is 2000000000; it must be between 65536 and 1073741824");
}

TEST(ConfigSections, DatabaseBatchSizeStopsAtTheCheckpointLimit) {
  LoadResult largest = LoadSection("[database]\nbatch_size = 10000\n");
  ASSERT_TRUE(largest.ok()) << AllDiagnostics(largest);
  EXPECT_EQ(largest.config->database.batch_size, 10000u);
  LoadResult result = LoadSection("[database]\nbatch_size = 10001\n");
  Diagnostic error = OnlyError(result);
  EXPECT_EQ(error.message, "'[database].batch_size' is 10001; it must be between 1 and 10000");
  EXPECT_EQ(error.location.line, 10u);
  EXPECT_EQ(error.location.column, 14u);
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

TEST(ConfigSections, NatsTablesAreStillValidatedWhenRefused) {
  LoadResult result = LoadSection(R"x(
[transport]
transport = "nats"

[transport.nats]
url = "nats://a:4222,http://b:4222"

[transport.nats.jetstream]
dedup_window_minutes = 61

[transport.bridge]
batch_size = 250
)x");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error_count(), 3u) << AllDiagnostics(result);
  EXPECT_EQ(result.warning_count(), 0u) << AllDiagnostics(result);  // the refusal says it all
  EXPECT_THAT(AllDiagnostics(result), HasSubstr("NATS transport is not supported"));
  EXPECT_THAT(AllDiagnostics(result), HasSubstr("\"http://b:4222\" must start with nats:// or tls://"));
  EXPECT_THAT(AllDiagnostics(result), HasSubstr("'[transport].nats.jetstream.dedup_window_minutes' is 61"));
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
  ASSERT_EQ(result.warning_count(), 1u) << AllDiagnostics(result);  // [elasticsearch]: no effect yet
}

TEST(ConfigSections, UnknownNestedKey) {
  LoadResult result = LoadSection("[transport.nats]\nstream = \"x\"\n");
  EXPECT_THAT(OnlyError(result).message,
              HasSubstr("unknown key 'stream' in [transport].nats; did you mean 'stream_name'?"));
}

// ---------------------------------------------------------------------------------------------
// FraiseQL keys whose feature has not landed: a warning for each one a file sets, at its value
// (or at the section header for a whole section), never silence.

struct NoEffectCase {
  const char* section;  // appended to kMinimalObserver, so its first line is line 9
  uint32_t line;
  uint32_t column;
  const char* message;  // a fragment
};

class NoEffectYet : public ::testing::TestWithParam<NoEffectCase> {};

TEST_P(NoEffectYet, WarnsAtTheKeyAndSaysWhatToUseInstead) {
  const NoEffectCase& c = GetParam();
  LoadResult result = LoadSection(c.section, {{"REDIS_URL", "redis://cache:6379"}});
  ASSERT_TRUE(result.ok()) << AllDiagnostics(result);
  ASSERT_EQ(result.diagnostics.size(), 1u) << AllDiagnostics(result);
  const Diagnostic& warning = result.diagnostics[0];
  EXPECT_EQ(warning.severity, Severity::kWarning);
  EXPECT_THAT(warning.message, HasSubstr(c.message));
  EXPECT_THAT(warning.message, HasSubstr("has no effect in this version"));
  EXPECT_EQ(warning.location.file, "test.toml");
  EXPECT_EQ(warning.location.line, c.line) << warning.ToString();
  EXPECT_EQ(warning.location.column, c.column) << warning.ToString();
}

INSTANTIATE_TEST_SUITE_P(
    Keys, NoEffectYet,
    ::testing::Values(
        NoEffectCase{"[performance]\nenable_dedup = true\n", 10, 16,
                     "'[performance].enable_dedup = true' is accepted for FraiseQL compatibility but has no "
                     "effect in this version: events are not deduplicated yet (Redis-backed deduplication comes "
                     "with issue 13)"},
        NoEffectCase{"[performance]\nenable_caching = true\n", 10, 18,
                     "'[performance].enable_caching = true' is accepted for FraiseQL compatibility but has no "
                     "effect in this version: action results are not cached yet (Redis-backed caching comes "
                     "with issue 13)"},
        NoEffectCase{"[performance]\nenable_concurrent = false\n", 10, 21,
                     "'[performance].enable_concurrent = false' is accepted for FraiseQL compatibility but has "
                     "no effect in this version: the actions of an event always run concurrently"},
        NoEffectCase{"[performance]\nmax_concurrent_actions = 5\n", 10, 26,
                     "'[performance].max_concurrent_actions' is accepted for FraiseQL compatibility but has no "
                     "effect in this version; the engine's limits are [performance] max_in_flight"},
        NoEffectCase{"[performance]\nconcurrent_timeout_ms = 100\n", 10, 25,
                     "'[performance].concurrent_timeout_ms' is accepted for FraiseQL compatibility but has no "
                     "effect in this version; each action's timeout_ms bounds its attempts"},
        NoEffectCase{"[performance]\nmax_concurrency = 8\n", 10, 19,
                     "'[performance].max_concurrency' is accepted for FraiseQL compatibility but has no effect "
                     "in this version; use [performance] max_in_flight"},
        NoEffectCase{"[job_queue]\nmax_retries = 3\n", 10, 15,
                     "'[job_queue].max_retries' is accepted for FraiseQL compatibility but has no effect in this "
                     "version; use each observer's [observers.retry] max_attempts"},
        NoEffectCase{"[job_queue]\nworker_concurrency = 4\n", 10, 22,
                     "'[job_queue].worker_concurrency' is accepted for FraiseQL compatibility but has no effect "
                     "in this version; use [performance] max_in_flight"},
        NoEffectCase{"[job_queue]\nbatch_timeout_secs = 2\n", 10, 22,
                     "'[job_queue].batch_timeout_secs' is accepted for FraiseQL compatibility but has no effect "
                     "in this version; there is no equivalent"},
        NoEffectCase{"[job_queue]\ninitial_delay_ms = 10\n", 10, 20,
                     "'[job_queue].initial_delay_ms' is accepted for FraiseQL compatibility but has no effect in "
                     "this version; use each observer's [observers.retry] initial_delay_ms"},
        NoEffectCase{"[job_queue]\nmax_delay_ms = 60000\n", 10, 16,
                     "'[job_queue].max_delay_ms' is accepted for FraiseQL compatibility but has no effect in "
                     "this version; use each observer's [observers.retry] max_delay_ms"},
        NoEffectCase{"[redis]\nurl_env = \"REDIS_URL\"\npool_size = 4\n", 9, 1,
                     "[redis] is accepted for FraiseQL compatibility but has no effect in this version: "
                     "Redis-backed deduplication and caching come with issue 13"},
        NoEffectCase{"[elasticsearch]\nindex_prefix = \"shop\"\n", 9, 1,
                     "[elasticsearch] is accepted for FraiseQL compatibility but has no effect in this version: "
                     "search actions and event indexing come with issue 15"},
        NoEffectCase{"[transport]\ntransport = \"in_memory\"\n", 10, 13,
                     "'[transport].transport = \"in_memory\"' is accepted for FraiseQL compatibility but has no "
                     "effect in this version: the daemon always uses the PostgreSQL job queue (durable)"},
        NoEffectCase{"[transport]\ntransport = \"memory\"\n", 10, 13,
                     "'[transport].transport = \"memory\"' is accepted"},
        NoEffectCase{"[transport.nats]\nurl = \"nats://n:4222\"\n", 9, 1,
                     "'[transport].nats' is accepted for FraiseQL compatibility but has no effect in this "
                     "version: NATS transport comes with issue 12"},
        NoEffectCase{"[transport.bridge]\nbatch_size = 5\n", 9, 1,
                     "'[transport].bridge' is accepted for FraiseQL compatibility but has no effect in this "
                     "version: the NATS bridge comes with issue 12"}));

TEST(ConfigSections, EachNoEffectKeyGetsItsOwnWarning) {
  LoadResult result = LoadSection(R"x(
[performance]
enable_dedup = true
enable_caching = true
max_concurrency = 8

[job_queue]
max_retries = 3
initial_delay_ms = 10
max_delay_ms = 60000
)x");
  ASSERT_TRUE(result.ok()) << AllDiagnostics(result);
  EXPECT_EQ(result.warning_count(), 6u) << AllDiagnostics(result);
  // The old message promised in-memory stores that do not exist.
  EXPECT_THAT(AllDiagnostics(result), Not(HasSubstr("in-memory")));
}

// A value that describes what the product does anyway, and the FraiseQL keys the daemon reads
// (or will, in the same release: channel_capacity, backlog_alert_threshold, [job_queue]
// batch_size), load without a word.
TEST(ConfigSections, KeysThatMeanWhatTheProductDoesAreSilent) {
  LoadResult result = LoadSection(R"x(
[database]
pool_size = 2
batch_size = 500

[performance]
enable_dedup = false
enable_caching = false
enable_concurrent = true
channel_capacity = 2000
backlog_alert_threshold = 100
shutdown_timeout = "10s"

[transport]
transport = "postgres"
run_bridge = false
run_executors = true

[job_queue]
backend = "postgres"
batch_size = 50
lock_timeout_ms = 5000
poll_interval_ms = 200
)x");
  ASSERT_TRUE(result.ok()) << AllDiagnostics(result);
  EXPECT_TRUE(result.diagnostics.empty()) << AllDiagnostics(result);
  EXPECT_EQ(result.config->database.pool_size, 2u);

  LoadResult alias = LoadSection("[transport]\ntransport = \"postgresql\"\n");
  ASSERT_TRUE(alias.ok()) << AllDiagnostics(alias);
  EXPECT_TRUE(alias.diagnostics.empty()) << AllDiagnostics(alias);
}

TEST(ConfigSections, FirstAttemptDeadlineDefaultsToASecondAndStaysBelowTheLeaseRenewal) {
  LoadResult defaults = LoadSection("");
  ASSERT_TRUE(defaults.ok()) << AllDiagnostics(defaults);
  EXPECT_EQ(defaults.config->performance.first_attempt_deadline, std::chrono::milliseconds(1000));

  LoadResult off = LoadSection("[performance]\nfirst_attempt_deadline_ms = 0\n");
  ASSERT_TRUE(off.ok()) << AllDiagnostics(off);
  EXPECT_TRUE(off.diagnostics.empty()) << AllDiagnostics(off);
  EXPECT_EQ(off.config->performance.first_attempt_deadline, std::chrono::milliseconds(0));

  LoadResult too_long = LoadSection("[performance]\nfirst_attempt_deadline_ms = 5000\n");
  EXPECT_FALSE(too_long.ok());
  EXPECT_THAT(AllDiagnostics(too_long), HasSubstr("first_attempt_deadline_ms"));
  EXPECT_THAT(AllDiagnostics(too_long), HasSubstr("4000"));
}

TEST(ConfigSections, HttpThreadsDefaultToOneAndMustBeOneToSixteen) {
  LoadResult defaults = LoadSection("");
  ASSERT_TRUE(defaults.ok()) << AllDiagnostics(defaults);
  EXPECT_EQ(defaults.config->performance.http_threads, 1u);
  LoadResult two = LoadSection("[performance]\nhttp_threads = 2\n");
  ASSERT_TRUE(two.ok()) << AllDiagnostics(two);
  EXPECT_EQ(two.config->performance.http_threads, 2u);
  EXPECT_FALSE(LoadSection("[performance]\nhttp_threads = 0\n").ok());
  EXPECT_FALSE(LoadSection("[performance]\nhttp_threads = 17\n").ok());
}

// NATS is refused, not ignored: running such a file on the PostgreSQL queue would not be the
// deployment it describes.
TEST(ConfigSections, NatsTransportIsRefused) {
  LoadResult result = LoadSection("[transport]\ntransport = \"nats\"\n");
  Diagnostic error = OnlyError(result);
  EXPECT_EQ(error.severity, Severity::kError);
  EXPECT_EQ(error.message,
            "'[transport].transport = \"nats\"': NATS transport is not supported in this version (it comes "
            "with issue 12); the daemon uses the PostgreSQL job queue; remove the key or write transport = "
            "\"postgres\"");
  EXPECT_EQ(error.location.line, 10u);
  EXPECT_EQ(error.location.column, 13u);
}

TEST(ConfigSections, NatsBridgeIsRefused) {
  LoadResult result = LoadSection("[transport]\nrun_bridge = true\n");
  Diagnostic error = OnlyError(result);
  EXPECT_THAT(error.message, HasSubstr("'[transport].run_bridge = true': the NATS bridge is not supported in this "
                                       "version (it comes with issue 12); the daemon uses the PostgreSQL job queue"));
  EXPECT_EQ(error.location.line, 10u);
  EXPECT_EQ(error.location.column, 14u);
}

TEST(ConfigSections, NatsJobQueueIsRefused) {
  LoadResult result = LoadSection("[job_queue]\nbackend = \"nats\"\n");
  Diagnostic error = OnlyError(result);
  EXPECT_THAT(error.message, HasSubstr("'[job_queue].backend = \"nats\"': NATS transport is not supported in this "
                                       "version"));
  EXPECT_EQ(error.location.line, 10u);
  EXPECT_EQ(error.location.column, 11u);
}

TEST(ConfigSections, ProcessThatRunsNothingIsRefused) {
  LoadResult result = LoadSection("[transport]\nrun_executors = false\n");
  Diagnostic error = OnlyError(result);
  EXPECT_THAT(error.message, HasSubstr("runs neither the bridge nor the executors"));
  EXPECT_EQ(error.location.line, 10u);
  EXPECT_EQ(error.location.column, 17u);
}

}  // namespace
}  // namespace fraiseql
