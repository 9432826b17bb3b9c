// Config: the typed, validated form of a fraiseql-observer TOML file. LoadConfig() parses,
// expands ${VAR} and *_env references, compiles conditions and templates, and reports every
// problem as `file:line:col: error: ...` (all of them, not just the first).
// Thread-safety: a loaded Config is an immutable value; share it by const reference.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/diagnostic.h"
#include "common/secret.h"
#include "condition/condition.h"
#include "config/retry_policy.h"
#include "config/sections.h"
#include "event/entity_event.h"
#include "template/template.h"

namespace fraiseql {

enum class ActionType { kWebhook, kSlack, kEmail, kDatabase, kLog, kCache, kSearch, kSms, kPush };
std::string_view ActionTypeName(ActionType type);
std::optional<ActionType> ParseActionType(std::string_view name);
std::span<const std::string_view> AllActionTypeNames();

// What happens to a delivery that failed for good.
enum class FailurePolicy { kDlq, kLog, kAlert };
std::string_view FailurePolicyName(FailurePolicy policy);

struct HttpHeader {
  std::string name;
  std::string value;
  // Shown as <redacted>: the name looks like a credential, or the value came from ${VAR}.
  bool sensitive = false;
};

struct WebhookAction {
  enum class Payload { kEnvelope, kData };
  enum class SignatureScheme { kStandard, kFraiseql, kBoth };

  std::string url;
  bool url_from_environment = false;  // url_env or ${VAR}: shown as <redacted>
  std::string method = "POST";
  std::vector<HttpHeader> headers;
  std::optional<Template> body_template;
  Payload payload = Payload::kEnvelope;
  std::vector<Secret> signing_secrets;  // several for key rotation: one signature each
  SignatureScheme signature_scheme = SignatureScheme::kBoth;
};

std::string_view SignatureSchemeName(WebhookAction::SignatureScheme scheme);

struct SlackAction {
  Secret webhook_url;  // a Slack incoming-webhook URL is a credential
  std::optional<std::string> channel;
  std::optional<Template> message_template;
};

struct EmailAction {
  std::vector<std::string> to;
  std::optional<Template> to_template;
  std::vector<std::string> cc;
  std::optional<std::string> subject;
  std::optional<Template> subject_template;
  Template body_template;
  std::optional<std::string> reply_to;
  std::string content_type = "text/plain";
};

struct DatabaseAction {
  std::string function_name;  // [schema.]name, validated identifier
  nlohmann::json params;      // null when absent
};

struct LogAction {
  enum class Level { kTrace, kDebug, kInfo, kWarn, kError };
  Level level = Level::kInfo;
  Template message_template;
};

std::string_view LogLevelName(LogAction::Level level);

struct CacheAction {
  Template key_pattern;  // rendered glob-escaped
};

struct SearchAction {
  std::string index;
  std::optional<Template> id_template;
};

struct SmsAction {
  std::optional<std::string> phone;
  std::optional<Template> phone_template;
  std::optional<Template> message_template;
};

struct PushAction {
  std::optional<std::string> device_token;
  std::optional<Template> title_template;
  std::optional<Template> body_template;
};

using ActionSpec = std::variant<WebhookAction, SlackAction, EmailAction, DatabaseAction, LogAction,
                                CacheAction, SearchAction, SmsAction, PushAction>;

struct ActionConfig {
  ActionType type = ActionType::kLog;
  SourceLocation location;
  std::chrono::milliseconds timeout{30000};
  std::optional<CircuitBreakerSettings> circuit_breaker;  // overrides [circuit_breaker]
  ActionSpec spec;
};

// The event kinds an observer listens to.
class EventKindSet {
 public:
  EventKindSet() = default;
  static EventKindSet All() { return EventKindSet(0b1111); }
  static EventKindSet Of(EventKind kind) { return EventKindSet(Bit(kind)); }
  void Add(EventKind kind) { bits_ = static_cast<uint8_t>(bits_ | Bit(kind)); }
  bool Contains(EventKind kind) const { return (bits_ & Bit(kind)) != 0; }
  bool IsAll() const { return bits_ == 0b1111; }
  bool empty() const { return bits_ == 0; }
  // "INSERT", "INSERT|UPDATE", or "*".
  std::string ToString() const;

  friend bool operator==(const EventKindSet&, const EventKindSet&) = default;

 private:
  explicit EventKindSet(uint8_t bits) : bits_(bits) {}
  static uint8_t Bit(EventKind kind) { return static_cast<uint8_t>(1u << static_cast<unsigned>(kind)); }
  uint8_t bits_ = 0;
};

struct ObserverConfig {
  std::string name;
  std::string entity;  // a type name, or "*"
  EventKindSet event_kinds;
  std::optional<Condition> condition;
  bool condition_from_environment = false;  // its source used ${VAR}: not echoed
  bool name_from_environment = false;       // its name used ${VAR}: diagnostics quote the file
  std::vector<ActionConfig> actions;
  RetryPolicy retry;
  FailurePolicy on_failure = FailurePolicy::kDlq;  // nothing is lost silently
  bool enabled = true;
  SourceLocation location;

  bool MatchesEntity(std::string_view entity_type) const {
    return entity == "*" || entity == entity_type;
  }

  // What may be said about an evaluation error of its condition (dead letters, logs, debug-event):
  // the evaluator's message, which quotes the condition's text, or, for a condition that came
  // from the environment, a note withholding it (docs/security.md, "Secrets").
  std::string ConditionErrorText(std::string_view evaluator_message) const {
    if (!condition_from_environment) return std::string(evaluator_message);
    return "its condition (from the environment) could not be evaluated on this event; the evaluator's message "
           "is withheld because it quotes the condition";
  }
};

struct Config {
  std::string source_file;
  std::vector<ObserverConfig> observers;
  DatabaseConfig database;
  PerformanceConfig performance;
  std::optional<RedisConfig> redis;
  TransportConfig transport;
  std::optional<JobQueueConfig> job_queue;
  std::optional<ElasticsearchConfig> elasticsearch;
  MetricsConfig metrics;
  std::optional<EmailConfig> email;
  SecurityConfig security;
  CircuitBreakerSettings circuit_breaker;
};

struct LoadOptions {
  // Reads an environment variable; the default reads the process environment.
  std::function<std::optional<std::string>(std::string_view)> getenv;
};

struct LoadResult {
  std::optional<Config> config;          // set when there is no error
  std::vector<Diagnostic> diagnostics;   // errors and warnings, in file order

  bool ok() const { return config.has_value(); }
  size_t error_count() const;
  size_t warning_count() const;
};

LoadResult LoadConfigFile(const std::string& path, const LoadOptions& options = {});
// `file_name` is used in diagnostics only.
LoadResult LoadConfigString(std::string_view text, const std::string& file_name,
                            const LoadOptions& options = {});

}  // namespace fraiseql
