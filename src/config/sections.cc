// Reading and validating the top-level sections (config/sections.h).
#include <algorithm>

#include "common/email_address.h"
#include "common/ip_network.h"
#include "common/text.h"
#include "common/url.h"
#include "config/loader.h"

namespace fraiseql::config_internal {
namespace {

using std::chrono::milliseconds;

std::optional<Secret> SecretFrom(TableReader& reader, std::string_view key, std::string_view env_key) {
  std::optional<StringValue> value = reader.ValueOrEnv(key, env_key);
  if (!value) return std::nullopt;
  return Secret(std::move(value->text));
}

// Reads an optional sub-table with `read`, so a section's nested tables get their own reader.
template <typename Read>
void WithTable(TableReader& parent, std::string_view key, Read read) {
  if (const toml::table* table = parent.Table(key)) {
    TableReader reader(*table, parent.section() + "." + std::string(key), parent.context());
    read(reader);
    reader.Finish();
  }
}

// Keys FraiseQL defines whose feature has not landed here. They are accepted, so FraiseQL's
// files load, and every one a file sets draws a warning, so nobody believes it tunes anything
// (a key must never be accepted and silently ignored). `instead` says what to use, when there is
// an equivalent, or which issue brings the feature.
constexpr std::string_view kNoEffect = " is accepted for FraiseQL compatibility but has no effect in this version";

void NoEffectYet(TableReader& in, std::string_view key, std::string_view instead) {
  if (!in.Has(key)) return;
  in.WarningAt(key, "'" + in.section() + "." + std::string(key) + "'" + std::string(kNoEffect) + "; " +
                        std::string(instead));
}

// The same for a boolean whose FraiseQL meaning we do not have when it is `unsupported`; the
// other value describes what the product does anyway, so it is accepted silently.
void NoEffectWhen(TableReader& in, std::string_view key, bool value, bool unsupported, std::string_view why) {
  if (!in.Has(key) || value != unsupported) return;
  in.WarningAt(key, "'" + in.section() + "." + std::string(key) + " = " + (unsupported ? "true" : "false") + "'" +
                        std::string(kNoEffect) + ": " + std::string(why));
}

// A whole section whose feature has not landed: one warning, at its header.
void SectionNoEffectYet(TableReader& in, std::string_view why) {
  in.Warning(in.section() + std::string(kNoEffect) + ": " + std::string(why));
}

// libpq takes a postgresql:// or postgres:// URI, or "key=value ..." settings; anything else
// (a mysql:// URL, "host:5432/db") fails every connection, so it fails here. The value is not
// quoted: it may hold a password.
void CheckDatabaseUrl(TableReader& in, const std::optional<Secret>& url) {
  if (!url) return;
  const std::string& text = url->Reveal();
  const size_t scheme_end = text.find("://");
  if (scheme_end != std::string::npos) {
    const std::string scheme = ToLowerAscii(text.substr(0, scheme_end));
    if (scheme != "postgresql" && scheme != "postgres") {
      in.ErrorAt(in.Has("url") ? "url" : "url_env",
                 "'[database].url' has the scheme '" + TruncateUtf8(scheme, 20) +
                     "'; expected postgresql://user@host/dbname or key=value settings (host=... dbname=...)");
    }
  } else if (text.find('=') == std::string::npos) {
    in.ErrorAt(in.Has("url") ? "url" : "url_env",
               "'[database].url' is neither a postgresql:// URL nor key=value settings (host=... dbname=...)");
  }
}

// "table" or "schema.table", each part a name: the listener quotes them for SQL, so any
// characters would do, but an empty part or a third one can never name a table.
void CheckChangeLogTable(TableReader& in, const std::string& table) {
  const size_t dot = table.find('.');
  const bool valid = dot == std::string::npos
                         ? !table.empty()
                         : dot > 0 && dot + 1 < table.size() && table.find('.', dot + 1) == std::string::npos;
  if (!valid) {
    in.ErrorAt("change_log_table", "'[database].change_log_table' is \"" + TruncateUtf8(table, 100) +
                                       "\"; expected \"table\" or \"schema.table\"");
  }
}

DatabaseConfig ReadDatabase(TableReader& in) {
  DatabaseConfig out;
  out.url = SecretFrom(in, "url", "url_env");
  CheckDatabaseUrl(in, out.url);
  out.listener_id = in.StringOr("listener_id", out.listener_id);
  out.change_log_table = in.StringOr("change_log_table", out.change_log_table);
  CheckChangeLogTable(in, out.change_log_table);
  // At most 10000: the checkpoint row records the batch size under CHECK (batch_size BETWEEN 1
  // AND 10000), so a larger value could never be written (FraiseQL allows 100000).
  out.batch_size = in.Unsigned<uint32_t>("batch_size", out.batch_size, 1, 10000);
  // At most 1 GiB: PostgreSQL's own limit on one value; at least 64 KiB, below which ordinary
  // rows would travel alone.
  out.batch_max_bytes = in.Unsigned<uint64_t>("batch_max_bytes", out.batch_max_bytes, 64 << 10, 1 << 30);
  out.poll_interval = in.Millis("poll_interval_ms", out.poll_interval, 1);
  out.pool_size = in.Unsigned<uint32_t>("pool_size", out.pool_size, 1, 1000);
  out.synchronous_commit = in.Bool("synchronous_commit", out.synchronous_commit);
  return out;
}

PerformanceConfig ReadPerformance(TableReader& in) {
  PerformanceConfig out;
  out.max_in_flight = in.Unsigned<uint32_t>("max_in_flight", out.max_in_flight, 1, 1'000'000);
  out.max_in_flight_per_target =
      in.Unsigned<uint32_t>("max_in_flight_per_target", out.max_in_flight_per_target, 1, 1'000'000);
  out.enable_dedup = in.Bool("enable_dedup", out.enable_dedup);
  out.enable_caching = in.Bool("enable_caching", out.enable_caching);
  out.enable_concurrent = in.Bool("enable_concurrent", out.enable_concurrent);
  out.max_concurrent_actions =
      in.Unsigned<uint32_t>("max_concurrent_actions", out.max_concurrent_actions, 1, 100000);
  out.concurrent_timeout = in.Millis("concurrent_timeout_ms", out.concurrent_timeout, 1);
  out.max_concurrency = in.Unsigned<uint32_t>("max_concurrency", out.max_concurrency, 1, 100000);
  out.channel_capacity = in.Unsigned<uint32_t>("channel_capacity", out.channel_capacity, 1, 10'000'000);
  out.backlog_alert_threshold =
      in.Unsigned<uint32_t>("backlog_alert_threshold", out.backlog_alert_threshold, 1, UINT32_MAX);
  out.shutdown_timeout = in.Duration("shutdown_timeout", out.shutdown_timeout);
  // At most 4 s: the listener waits this long per batch, and renews its lease every 5 s.
  out.first_attempt_deadline = std::chrono::milliseconds(in.Unsigned<uint32_t>(
      "first_attempt_deadline_ms", static_cast<uint32_t>(out.first_attempt_deadline.count()), 0, 4000));
  out.http_threads = in.Unsigned<uint32_t>("http_threads", out.http_threads, 1, 16);

  NoEffectWhen(in, "enable_dedup", out.enable_dedup, true,
               "events are not deduplicated yet (Redis-backed deduplication comes with issue 13); each "
               "change-log row is enqueued once, and every delivery carries a stable idempotency key (webhook-id)");
  NoEffectWhen(in, "enable_caching", out.enable_caching, true,
               "action results are not cached yet (Redis-backed caching comes with issue 13)");
  NoEffectWhen(in, "enable_concurrent", out.enable_concurrent, false,
               "the actions of an event always run concurrently, within [performance] max_in_flight and "
               "max_in_flight_per_target");
  NoEffectYet(in, "max_concurrent_actions",
              "the engine's limits are [performance] max_in_flight (all deliveries) and max_in_flight_per_target "
              "(per destination)");
  NoEffectYet(in, "concurrent_timeout_ms", "each action's timeout_ms bounds its attempts");
  NoEffectYet(in, "max_concurrency", "use [performance] max_in_flight");
  if (out.max_in_flight_per_target > out.max_in_flight) {
    in.ErrorAt("max_in_flight_per_target",
               "'[performance].max_in_flight_per_target' (" + std::to_string(out.max_in_flight_per_target) +
                   ") exceeds 'max_in_flight' (" + std::to_string(out.max_in_flight) + ")");
  }
  return out;
}

RedisConfig ReadRedis(TableReader& in) {
  RedisConfig out;
  if (auto url = SecretFrom(in, "url", "url_env")) out.url = std::move(*url);
  if (!out.url.Reveal().starts_with("redis://") && !out.url.Reveal().starts_with("rediss://") &&
      !out.url.Reveal().starts_with("unix://")) {
    in.ErrorAt("url", "'[redis].url' must start with redis://, rediss:// or unix://");
  }
  out.pool_size = in.Unsigned<uint32_t>("pool_size", out.pool_size, 1, 10000);
  out.connect_timeout_secs = in.Unsigned<uint32_t>("connect_timeout_secs", out.connect_timeout_secs, 1, 3600);
  out.command_timeout_secs = in.Unsigned<uint32_t>("command_timeout_secs", out.command_timeout_secs, 1, 3600);
  out.dedup_window_secs = in.Unsigned<uint32_t>("dedup_window_secs", out.dedup_window_secs, 1, 3600);
  out.cache_ttl_secs = in.Unsigned<uint32_t>("cache_ttl_secs", out.cache_ttl_secs, 1, 3600);
  SectionNoEffectYet(in, "Redis-backed deduplication and caching come with issue 13");
  return out;
}

void ReadJetStream(TableReader& in, NatsJetStreamConfig& out) {
  out.dedup_window_minutes = in.Unsigned<uint32_t>("dedup_window_minutes", out.dedup_window_minutes, 1, 60);
  out.max_age_days = in.Unsigned<uint32_t>("max_age_days", out.max_age_days, 1, 36500);
  out.max_msgs = in.Integer("max_msgs", out.max_msgs, 1, INT64_MAX);
  out.max_bytes = in.Integer("max_bytes", out.max_bytes, 1, INT64_MAX);
  out.ack_wait_secs = in.Unsigned<uint32_t>("ack_wait_secs", out.ack_wait_secs, 1, 86400);
  out.max_deliver = in.Unsigned<uint32_t>("max_deliver", out.max_deliver, 1, 1000);
}

void ReadNats(TableReader& in, NatsConfig& out) {
  if (std::optional<StringValue> urls = in.NonEmptyString("url")) {
    out.urls.clear();
    size_t start = 0;
    const std::string& text = urls->text;
    while (start <= text.size()) {
      size_t comma = text.find(',', start);
      std::string url = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!url.starts_with("nats://") && !url.starts_with("tls://")) {
        in.ErrorAt("url", "'" + in.section() + ".url': " +
                              (urls->from_environment ? ShownUrl(*urls) : "\"" + RedactUrl(url) + "\"") +
                              " must start with nats:// or tls:// (several URLs are separated by commas)");
      }
      out.urls.push_back(std::move(url));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  out.subject_prefix = in.StringOr("subject_prefix", out.subject_prefix);
  out.consumer_name = in.StringOr("consumer_name", out.consumer_name);
  out.stream_name = in.StringOr("stream_name", out.stream_name);
  WithTable(in, "jetstream", [&](TableReader& jetstream) { ReadJetStream(jetstream, out.jetstream); });
}

void ReadBridge(TableReader& in, BridgeConfig& out) {
  out.transport_name = in.StringOr("transport_name", out.transport_name);
  out.batch_size = in.Unsigned<uint32_t>("batch_size", out.batch_size, 1, 10000);
  out.poll_interval_secs = in.Unsigned<uint32_t>("poll_interval_secs", out.poll_interval_secs, 1, 3600);
  out.notify_channel = in.StringOr("notify_channel", out.notify_channel);
  out.backlog_alert_threshold =
      in.Unsigned<uint32_t>("backlog_alert_threshold", out.backlog_alert_threshold, 1, UINT32_MAX);
  out.channel_capacity = in.Unsigned<uint32_t>("channel_capacity", out.channel_capacity, 1, 10'000'000);
  out.max_concurrency = in.Unsigned<uint32_t>("max_concurrency", out.max_concurrency, 1, 100000);
  out.shutdown_timeout = in.Duration("shutdown_timeout", out.shutdown_timeout);
}

// NATS is refused rather than ignored: a file asking for it describes a deployment (shared
// stream, bridge processes, competing workers) that running on the PostgreSQL queue would not be.
constexpr std::string_view kNatsRefused =
    "NATS transport is not supported in this version (it comes with issue 12); the daemon uses the "
    "PostgreSQL job queue";

TransportConfig ReadTransport(TableReader& in) {
  TransportConfig out;
  // "postgresql" and "memory" are the aliases FRAISEQL_OBSERVER_TRANSPORT accepts.
  const size_t kind = in.Choice("transport", {"postgres", "nats", "in_memory", "postgresql", "memory"}, 0);
  switch (kind) {
    case 1: out.kind = TransportConfig::Kind::kNats; break;
    case 2:
    case 4: out.kind = TransportConfig::Kind::kInMemory; break;
    default: out.kind = TransportConfig::Kind::kPostgres; break;
  }
  out.run_bridge = in.Bool("run_bridge", out.run_bridge);
  out.run_executors = in.Bool("run_executors", out.run_executors);
  const bool has_nats = in.Has("nats");
  const bool has_bridge = in.Has("bridge");
  WithTable(in, "nats", [&](TableReader& nats) { ReadNats(nats, out.nats); });
  WithTable(in, "bridge", [&](TableReader& bridge) { ReadBridge(bridge, out.bridge); });

  if (out.kind == TransportConfig::Kind::kNats) {
    in.ErrorAt("transport", "'[transport].transport = \"nats\"': " + std::string(kNatsRefused) +
                                "; remove the key or write transport = \"postgres\"");
  } else if (out.kind == TransportConfig::Kind::kInMemory) {
    // The daemon never keeps deliveries in memory only: it always runs the durable queue.
    in.WarningAt("transport", "'[transport].transport = \"" + std::string(kind == 4 ? "memory" : "in_memory") +
                                  "\"'" + std::string(kNoEffect) +
                                  ": the daemon always uses the PostgreSQL job queue (durable); write "
                                  "transport = \"postgres\" to say so");
  }
  if (out.run_bridge) {
    in.ErrorAt("run_bridge", "'[transport].run_bridge = true': the NATS bridge is not supported in this version "
                             "(it comes with issue 12); the daemon uses the PostgreSQL job queue");
  }
  if (!out.run_bridge && !out.run_executors) {
    in.ErrorAt("run_executors",
               "'[transport]' runs neither the bridge nor the executors: this process would do nothing");
  }
  // Once NATS is refused, its tables need no second message.
  const bool nats_refused = out.kind == TransportConfig::Kind::kNats || out.run_bridge;
  if (has_nats && !nats_refused) {
    in.WarningAt("nats", "'[transport].nats'" + std::string(kNoEffect) + ": NATS transport comes with issue 12");
  }
  if (has_bridge && !nats_refused) {
    in.WarningAt("bridge",
                 "'[transport].bridge'" + std::string(kNoEffect) + ": the NATS bridge comes with issue 12");
  }
  return out;
}

JobQueueConfig ReadJobQueue(TableReader& in) {
  JobQueueConfig out;
  out.backend = in.Choice("backend", {"postgres", "nats"}, 0) == 1 ? "nats" : "postgres";
  out.batch_size = in.Unsigned<uint32_t>("batch_size", out.batch_size, 1, 100000);
  out.batch_timeout_secs = in.Unsigned<uint32_t>("batch_timeout_secs", out.batch_timeout_secs, 1, 3600);
  out.max_retries = in.Unsigned<uint32_t>("max_retries", out.max_retries, 0, 1000);
  out.worker_concurrency = in.Unsigned<uint32_t>("worker_concurrency", out.worker_concurrency, 1, 10000);
  out.poll_interval = in.Millis("poll_interval_ms", out.poll_interval, 1);
  out.initial_delay = in.Millis("initial_delay_ms", out.initial_delay);
  out.max_delay = in.Millis("max_delay_ms", out.max_delay);
  out.lock_timeout = in.Millis("lock_timeout_ms", out.lock_timeout, 1000);
  if (out.max_delay < out.initial_delay) {
    in.ErrorAt("max_delay_ms", "'[job_queue].max_delay_ms' is smaller than 'initial_delay_ms'");
  }

  if (out.backend == "nats") {
    in.ErrorAt("backend", "'[job_queue].backend = \"nats\"': " + std::string(kNatsRefused) +
                              "; remove the key or write backend = \"postgres\"");
  }
  NoEffectYet(in, "max_retries",
              "use each observer's [observers.retry] max_attempts (total tries, the first included)");
  NoEffectYet(in, "initial_delay_ms", "use each observer's [observers.retry] initial_delay_ms");
  NoEffectYet(in, "max_delay_ms", "use each observer's [observers.retry] max_delay_ms");
  NoEffectYet(in, "worker_concurrency", "use [performance] max_in_flight");
  NoEffectYet(in, "batch_timeout_secs",
              "there is no equivalent: jobs are claimed as soon as the engine has room, and their results are "
              "written in batches within milliseconds");
  return out;
}

ElasticsearchConfig ReadElasticsearch(TableReader& in) {
  ElasticsearchConfig out;
  if (auto url = in.ValueOrEnv("url", "url_env")) out.url = std::move(url->text);
  if (!out.url.starts_with("http://") && !out.url.starts_with("https://")) {
    in.ErrorAt("url", "'[elasticsearch].url' must start with http:// or https://");
  }
  out.index_prefix = in.StringOr("index_prefix", out.index_prefix);
  out.bulk_size = in.Unsigned<uint32_t>("bulk_size", out.bulk_size, 1, 100000);
  out.flush_interval_secs = in.Unsigned<uint32_t>("flush_interval_secs", out.flush_interval_secs, 1, 3600);
  out.max_retries = in.Unsigned<uint32_t>("max_retries", out.max_retries, 0, 100);
  out.username = SecretFrom(in, "username", "username_env");
  out.password = SecretFrom(in, "password", "password_env");
  SectionNoEffectYet(in, "search actions and event indexing come with issue 15");
  return out;
}

MetricsConfig ReadMetrics(TableReader& in) {
  MetricsConfig out;
  out.enabled = in.Bool("enabled", out.enabled);
  out.listen = in.StringOr("listen", out.listen);
  // The admin server's own reading of it (http/ ParseListenAddress): a host, an IPv6 one in
  // brackets, and a port from 0 (any free port) to 65535.
  const size_t colon = out.listen.rfind(':');
  const std::string_view listen = out.listen;
  const std::string_view host = colon == std::string::npos ? std::string_view() : listen.substr(0, colon);
  const std::string_view port = colon == std::string::npos ? std::string_view() : listen.substr(colon + 1);
  const bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (colon == std::string::npos || port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string_view::npos || std::stoul(std::string(port)) > 65535) {
    in.ErrorAt("listen", "'[metrics].listen' must be host:port with a port from 0 to 65535, e.g. \"127.0.0.1:9464\"");
  } else if (host.empty() || (bracketed && host.size() == 2)) {
    in.ErrorAt("listen", "'[metrics].listen' has no host; use 0.0.0.0 to listen on every interface");
  } else if (!bracketed && host.find(':') != std::string_view::npos) {
    in.ErrorAt("listen", "'[metrics].listen' has an IPv6 host without brackets; write \"[::1]:9464\"");
  }
  return out;
}

EmailConfig ReadEmail(TableReader& in) {
  EmailConfig out;
  if (auto host = in.NonEmptyString("host")) {
    out.host = host->text;
    // It becomes the authority of an smtp:// URL: a name or an address, nothing that would
    // change what the URL says (a user, a path, a port of its own).
    const std::string_view name = out.host.starts_with("[") && out.host.ends_with("]")
                                      ? std::string_view(out.host).substr(1, out.host.size() - 2)
                                      : std::string_view(out.host);
    if (name.empty() || name.find_first_of(" \t\r\n/@?#\\[]") != std::string_view::npos ||
        std::any_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
      in.ErrorAt("host", "'[email].host' is " + Shown(*host) +
                             "; expected a host name or an IP address (the port goes in 'port')");
    } else if (name.find(':') != std::string_view::npos &&
               name.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos) {
      in.ErrorAt("host", "'[email].host' is " + Shown(*host) +
                             "; a host name has no ':' (the port goes in 'port'; an IPv6 address is hex digits "
                             "and ':')");
    }
  } else if (!in.Has("host")) {
    in.Error("'[email]' needs 'host', the SMTP server");
  }
  out.tls = static_cast<EmailConfig::Tls>(in.Choice("tls", {"starttls", "implicit", "none"}, 0));
  const uint16_t default_port = out.tls == EmailConfig::Tls::kImplicit ? 465
                                : out.tls == EmailConfig::Tls::kNone   ? 25
                                                                       : 587;
  out.port = in.Unsigned<uint16_t>("port", default_port, 1, 65535);
  out.username = SecretFrom(in, "username", "username_env");
  out.password = SecretFrom(in, "password", "password_env");
  if (auto from = in.NonEmptyString("from")) {
    out.from = from->text;
    // The email action's own rule (common/email_address.h): a sender it refuses fails every email.
    if (!BareEmailAddress(out.from)) {
      in.ErrorAt("from", "'[email].from' is " + Shown(*from) +
                             "; it must be an email address, e.g. \"alerts@example.com\" or "
                             "\"Alerts <alerts@example.com>\"");
    }
  } else if (!in.Has("from")) {
    in.Error("'[email]' needs 'from', the sender address");
  }
  out.timeout = in.Millis("timeout_ms", out.timeout, 1);
  return out;
}

// "a.b.c.d/n" or "v6::/n" with a prefix length that fits the family. The same parser the SSRF
// guard builds its allow-list with, so whatever validates here is what the guard enforces.
bool IsCidr(const std::string& text) { return IpNetwork::Parse(text).has_value(); }

SecurityConfig ReadSecurity(TableReader& in) {
  SecurityConfig out;
  for (StringValue& range : in.StringList("allow_private_targets")) {
    if (!IsCidr(range.text)) {
      in.context().Error(in.context().Where(*range.node),
                         "'[security].allow_private_targets': " + Shown(range) +
                             " is not a CIDR range such as \"127.0.0.0/8\" or \"::1/128\"");
    }
    out.allow_private_targets.push_back(std::move(range.text));
  }
  out.admin_token = SecretFrom(in, "admin_token", "admin_token_env");
  return out;
}

}  // namespace

CircuitBreakerSettings ReadCircuitBreaker(TableReader& in, CircuitBreakerSettings out) {
  out.enabled = in.Bool("enabled", out.enabled);
  out.window_size = in.Unsigned<uint32_t>("window_size", out.window_size, 1, 10000);
  out.minimum_calls = in.Unsigned<uint32_t>("minimum_calls", out.minimum_calls, 1, 10000);
  out.failure_rate_threshold = in.Number("failure_rate_threshold", out.failure_rate_threshold, 1, 100);
  out.slow_call_duration = in.Millis("slow_call_duration_ms", out.slow_call_duration, 1);
  out.slow_call_rate_threshold = in.Number("slow_call_rate_threshold", out.slow_call_rate_threshold, 1, 100);
  out.wait_in_open = in.Millis("wait_in_open_ms", out.wait_in_open, 1);
  out.max_wait_in_open = in.Millis("max_wait_in_open_ms", out.max_wait_in_open, 1);
  out.permitted_calls_in_half_open =
      in.Unsigned<uint32_t>("permitted_calls_in_half_open", out.permitted_calls_in_half_open, 1, 1000);
  out.max_wait_in_half_open = in.Millis("max_wait_in_half_open_ms", out.max_wait_in_half_open);
  if (out.minimum_calls > out.window_size) {
    in.ErrorAt("minimum_calls", "'" + in.section() + ".minimum_calls' (" +
                                    std::to_string(out.minimum_calls) + ") exceeds 'window_size' (" +
                                    std::to_string(out.window_size) + ")");
  }
  if (out.max_wait_in_open < out.wait_in_open) {
    in.ErrorAt("max_wait_in_open_ms",
               "'" + in.section() + ".max_wait_in_open_ms' is smaller than 'wait_in_open_ms'");
  }
  return out;
}

void ReadSections(TableReader& root, Config& config) {
  const auto section = [&root](std::string_view key, auto read) {
    if (const toml::table* table = root.Table(key)) {
      TableReader reader(*table, "[" + std::string(key) + "]", root.context());
      read(reader);
      reader.Finish();
    }
  };
  section("database", [&](TableReader& in) { config.database = ReadDatabase(in); });
  section("performance", [&](TableReader& in) { config.performance = ReadPerformance(in); });
  section("redis", [&](TableReader& in) { config.redis = ReadRedis(in); });
  section("transport", [&](TableReader& in) { config.transport = ReadTransport(in); });
  section("job_queue", [&](TableReader& in) { config.job_queue = ReadJobQueue(in); });
  section("elasticsearch", [&](TableReader& in) { config.elasticsearch = ReadElasticsearch(in); });
  section("metrics", [&](TableReader& in) { config.metrics = ReadMetrics(in); });
  section("email", [&](TableReader& in) { config.email = ReadEmail(in); });
  section("security", [&](TableReader& in) { config.security = ReadSecurity(in); });
  section("circuit_breaker", [&](TableReader& in) {
    config.circuit_breaker = ReadCircuitBreaker(in, CircuitBreakerSettings{});
  });
}

}  // namespace fraiseql::config_internal
