// Action: one kind of side effect (webhook, Slack, email, database function, log line), built
// once per configured action and asked to perform one attempt of a delivery at a time.
// Thread-safety: Execute() may be called concurrently from several threads; `done` may run on
// any thread (the HTTP engine's, a worker's, or the caller's own, before Execute returns).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "actions/outcome.h"
#include "common/clock.h"
#include "common/result.h"
#include "common/secret.h"
#include "common/task_runner.h"
#include "config/config.h"
#include "event/entity_event.h"

namespace fraiseql {

class HttpClient;

// One attempt of one delivery.
struct ActionCall {
  std::shared_ptr<const EntityEvent> event;  // shared: asynchronous actions may keep it
  std::string delivery_id;                   // stable across attempts: the idempotency key
  uint32_t attempt = 1;                      // 1 for the first try
  // The observer's retry policy max_delay: a Retry-After longer than this is clamped to it.
  std::chrono::milliseconds max_retry_delay{30000};
};

// Called exactly once per Execute().
using ActionCallback = std::function<void(DeliveryOutcome)>;

class Action {
 public:
  Action() = default;
  virtual ~Action() = default;
  Action(const Action&) = delete;
  Action& operator=(const Action&) = delete;

  // The destination this action talks to: the unit of circuit breaking and of the per-target
  // in-flight cap. "https://hooks.example.com:443" (scheme, host, port) for HTTP actions,
  // "smtp://mail.example.com:587" for email, "postgresql://host:port/db" for database
  // functions, "log" for log lines. Never contains credentials.
  virtual const std::string& destination() const = 0;

  // Performs one attempt. Never throws; every failure is a DeliveryOutcome.
  virtual void Execute(const ActionCall& call, ActionCallback done) = 0;
};

// What actions need from the process, borrowed: everything must outlive the actions.
struct ActionDependencies {
  explicit ActionDependencies(Clock& clock_in) : clock(clock_in) {}

  Clock& clock;
  HttpClient* http = nullptr;      // webhook, slack
  TaskRunner* blocking = nullptr;  // email, database: their calls block
  const EmailConfig* email = nullptr;        // [email]; required by email actions
  std::optional<Secret> database_url;        // [database] url or DATABASE_URL; database actions
  uint32_t database_pool_size = DatabaseConfig{}.pool_size;  // [database] pool_size: per database action
};

// Builds the action for one configured action. kInvalidArgument naming the problem when a
// dependency it needs is missing (no [email] section for an email action, no database URL for a
// database action) or the type is not supported in this version.
Result<std::unique_ptr<Action>> MakeAction(const ActionConfig& config, const ActionDependencies& deps);

}  // namespace fraiseql
