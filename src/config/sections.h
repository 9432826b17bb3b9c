// The top-level sections of a config file besides [[observers]], as typed values with the
// defaults a production deployment should start from. Each later subsystem receives only its
// own struct (the daemon wiring passes them down). Fields marked "no effect yet" are FraiseQL
// keys whose feature has not landed: parsed and validated so FraiseQL's files load, read by
// nothing, and the loader warns about each one a file sets (docs/configuration.md).
// Thread-safety: value types.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/secret.h"

namespace fraiseql {

// [database]: where the change log lives and how it is read.
struct DatabaseConfig {
  std::optional<Secret> url;  // url / url_env; else DATABASE_URL at run time
  std::string listener_id = "default";
  std::string change_log_table = "core.tb_entity_change_log";
  uint32_t batch_size = 1000;                     // 1..10000 (the checkpoint row's CHECK)
  uint64_t batch_max_bytes = uint64_t{32} << 20;  // 64 KiB..1 GiB; a batch ends at this size too
  std::chrono::milliseconds poll_interval{1000};  // fallback when no NOTIFY arrives
  uint32_t pool_size = 4;                         // connections each database action may open
  bool synchronous_commit = true;  // off is safe (a lost commit replays) and faster
};

// [performance]: concurrency and shutdown.
struct PerformanceConfig {
  uint32_t max_in_flight = 256;             // deliveries in flight, all destinations
  uint32_t max_in_flight_per_target = 32;   // per destination
  bool enable_dedup = false;                // no effect yet (true warns; issue 13)
  bool enable_caching = false;              // no effect yet (true warns; issue 13)
  bool enable_concurrent = true;            // what the engine does; false warns
  uint32_t max_concurrent_actions = 10;     // no effect yet
  std::chrono::milliseconds concurrent_timeout{30000};  // no effect yet
  uint32_t max_concurrency = 50;            // no effect yet
  uint32_t channel_capacity = 1000;
  uint32_t backlog_alert_threshold = 500;
  std::chrono::milliseconds shutdown_timeout{30000};
  // How long a batch's first attempts may run before the unfinished get job rows (0: every
  // delivery gets a job row first). Below the lease renewal (5 s): the listener waits this long.
  std::chrono::milliseconds first_attempt_deadline{1000};
  // HTTP engines (a thread and a connection pool each); requests go to each in turn. One is
  // enough until the HTTP thread is the bottleneck on a machine with spare cores.
  uint32_t http_threads = 1;
};

// [redis]: dedup store and result cache. No effect yet (issue 13).
struct RedisConfig {
  Secret url{"redis://localhost:6379"};  // may carry a password
  uint32_t pool_size = 10;
  uint32_t connect_timeout_secs = 5;
  uint32_t command_timeout_secs = 2;
  uint32_t dedup_window_secs = 300;
  uint32_t cache_ttl_secs = 60;
};

struct NatsJetStreamConfig {
  uint32_t dedup_window_minutes = 5;
  uint32_t max_age_days = 7;
  int64_t max_msgs = 10'000'000;
  int64_t max_bytes = 10'737'418'240;
  uint32_t ack_wait_secs = 30;
  uint32_t max_deliver = 3;
};

struct NatsConfig {
  std::vector<std::string> urls{"nats://localhost:4222"};
  std::string subject_prefix = "fraiseql.mutation";
  std::string consumer_name = "fraiseql_observer_worker";
  std::string stream_name = "fraiseql_events";
  NatsJetStreamConfig jetstream;
};

struct BridgeConfig {
  std::string transport_name = "pg_to_nats";
  uint32_t batch_size = 100;
  uint32_t poll_interval_secs = 1;
  std::string notify_channel = "fraiseql_events";
  uint32_t backlog_alert_threshold = 500;
  uint32_t channel_capacity = 1000;
  uint32_t max_concurrency = 10;
  std::chrono::milliseconds shutdown_timeout{30000};
};

// [transport]: where events travel between reading and executing. Only the PostgreSQL job queue
// exists in this version: kNats and run_bridge are refused, kInMemory and the nats and bridge
// tables draw a warning (issue 12).
struct TransportConfig {
  enum class Kind { kPostgres, kNats, kInMemory };
  Kind kind = Kind::kPostgres;
  bool run_bridge = false;
  bool run_executors = true;
  NatsConfig nats;
  BridgeConfig bridge;
};

// [job_queue]: the durable queue of deliveries.
struct JobQueueConfig {
  std::string backend = "postgres";  // postgres | nats (refused: issue 12)
  uint32_t batch_size = 100;
  uint32_t batch_timeout_secs = 5;   // no effect yet
  uint32_t max_retries = 5;          // no effect yet: [observers.retry] max_attempts
  uint32_t worker_concurrency = 10;  // no effect yet: [performance] max_in_flight
  std::chrono::milliseconds poll_interval{1000};
  std::chrono::milliseconds initial_delay{100};  // no effect yet: [observers.retry]
  std::chrono::milliseconds max_delay{30000};    // no effect yet: [observers.retry]
  std::chrono::milliseconds lock_timeout{60000};  // a claim expires after this; its job is claimable again
};

// [elasticsearch]: the search action and event indexing. No effect yet (issue 15).
struct ElasticsearchConfig {
  std::string url = "http://localhost:9200";
  std::string index_prefix = "fraiseql";
  uint32_t bulk_size = 500;
  uint32_t flush_interval_secs = 1;
  uint32_t max_retries = 3;
  std::optional<Secret> username;
  std::optional<Secret> password;
};

// [metrics]: the admin HTTP endpoint (/metrics, /health, /ready).
struct MetricsConfig {
  bool enabled = true;
  std::string listen = "127.0.0.1:9464";
};

// [email]: the SMTP server for email actions.
struct EmailConfig {
  enum class Tls { kStartTls, kImplicit, kNone };
  std::string host;
  uint16_t port = 587;
  Tls tls = Tls::kStartTls;
  std::optional<Secret> username;
  std::optional<Secret> password;
  std::string from;
  std::chrono::milliseconds timeout{30000};
};

// [security]
struct SecurityConfig {
  // CIDR ranges webhook targets may resolve into despite the SSRF guard, e.g. "127.0.0.0/8".
  std::vector<std::string> allow_private_targets;
  std::optional<Secret> admin_token;  // admin API bearer token (admin_token_env)
};

// [circuit_breaker], and per action `circuit_breaker = {...}`: resilience4j semantics.
struct CircuitBreakerSettings {
  bool enabled = true;
  uint32_t window_size = 20;
  uint32_t minimum_calls = 10;
  double failure_rate_threshold = 50.0;  // percent
  std::chrono::milliseconds slow_call_duration{10000};
  double slow_call_rate_threshold = 100.0;  // percent
  std::chrono::milliseconds wait_in_open{30000};
  std::chrono::milliseconds max_wait_in_open{300000};
  uint32_t permitted_calls_in_half_open = 3;
  std::chrono::milliseconds max_wait_in_half_open{0};  // 0: wait for the permitted calls indefinitely
};

}  // namespace fraiseql
