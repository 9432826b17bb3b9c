#include "actions/database_action.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <optional>
#include <utility>
#include <vector>

#include "common/mutex.h"
#include "common/text.h"
#include "common/thread_annotations.h"
#include "db/connection.h"
#include "db/sqlstate.h"

namespace fraiseql {
namespace {

// The connections of one action: at most `max_open` exist at once ([database] pool_size), each
// lent to one call at a time (libpq's rule) and kept for the next call while healthy. A broken
// one is dropped, which frees its place for a fresh connection. A call that finds every place
// taken waits for one, so the cap holds however many workers call at once.
class ConnectionPool {
 public:
  ConnectionPool(Secret url, std::chrono::milliseconds timeout, size_t max_open)
      : url_(std::move(url)), timeout_(timeout), max_open_(max_open) {}

  struct Lease {
    PgConnection connection;
    bool reused;  // came from the idle list: it may have broken while it waited there
  };

  // nullopt when every connection stayed busy for the action's timeout.
  Result<std::optional<Lease>> Acquire() LOCKS_EXCLUDED(mu_) {
    // Real time, like libpq's own timeouts: the wait is for calls running on a real server.
    const auto deadline = std::chrono::steady_clock::now() + timeout_;
    {
      MutexLock lock(&mu_);
      for (;;) {
        while (!idle_.empty()) {
          PgConnection connection = std::move(idle_.back());
          idle_.pop_back();
          if (connection.healthy()) return std::optional<Lease>(Lease{std::move(connection), true});
          --open_;  // dropped: its place is this call's now
        }
        if (open_ < max_open_) break;
        if (std::chrono::steady_clock::now() >= deadline) return std::optional<Lease>();
        mu_.WaitUntil(released_, deadline);
      }
      ++open_;  // this call's place, held while it connects
    }
    // Connecting happens outside the lock: other calls may use the idle connections meanwhile.
    auto connection = PgConnection::Connect(url_, timeout_);
    if (!connection) {
      GiveUpPlace();
      return std::move(connection).error();
    }
    // The action's timeout is every call's statement_timeout: set once per connection (these
    // connections run nothing else), not per call, which would cost a round trip each time.
    const std::vector<std::optional<std::string>> params{std::to_string(timeout_.count())};
    auto set = connection->Execute("SELECT set_config('statement_timeout', $1, false)", params);
    if (!set) {
      GiveUpPlace();
      return std::move(set).error();
    }
    return std::optional<Lease>(Lease{std::move(*connection), false});
  }

  // Every acquired connection comes back here, healthy or not.
  void Release(PgConnection connection) LOCKS_EXCLUDED(mu_) {
    MutexLock lock(&mu_);
    if (connection.healthy()) {
      idle_.push_back(std::move(connection));
    } else {
      --open_;
    }
    released_.notify_one();
  }

  size_t max_open() const { return max_open_; }
  std::chrono::milliseconds timeout() const { return timeout_; }

 private:
  void GiveUpPlace() LOCKS_EXCLUDED(mu_) {
    MutexLock lock(&mu_);
    --open_;
    released_.notify_one();
  }

  const Secret url_;
  const std::chrono::milliseconds timeout_;
  const size_t max_open_;
  Mutex mu_;
  std::condition_variable released_;  // a connection came back or a place was freed
  std::vector<PgConnection> idle_ GUARDED_BY(mu_);
  size_t open_ GUARDED_BY(mu_) = 0;  // idle ones included
};

// What a posted call needs, shared so a call still queued may outlive the action.
struct DatabaseState {
  DatabaseState(Secret url, std::chrono::milliseconds timeout, size_t pool_size)
      : pool(std::move(url), timeout, pool_size) {}

  std::string function_name;
  std::string sql;  // SELECT fn($1::jsonb)
  nlohmann::json params;
  std::string destination;
  ConnectionPool pool;
};

bool IsIdentifier(std::string_view text) {
  return !text.empty() && (IsAsciiAlpha(text[0]) || text[0] == '_') &&
         std::all_of(text.begin(), text.end(), [](char c) { return IsAsciiAlpha(c) || IsAsciiDigit(c) || c == '_'; });
}

// name or schema.name: what config/ accepts, checked again here because it is spliced into SQL.
bool IsFunctionName(std::string_view name) {
  const size_t dot = name.find('.');
  if (dot == std::string_view::npos) return IsIdentifier(name);
  return IsIdentifier(name.substr(0, dot)) && IsIdentifier(name.substr(dot + 1));
}

DeliveryOutcome OutcomeOf(const Error& error, const std::string& function_name) {
  const std::string_view sqlstate = SqlStateOf(error);
  // A failure without SQLSTATE is a connection that could not be made or was lost: class 08.
  const std::string error_type = "sql_" + std::string(sqlstate.empty() ? "08" : SqlStateClass(sqlstate));
  const std::string message = "calling " + function_name + " failed: " + error.message;
  if (IsRetryable(error)) {
    return RetryableOutcome(error_type, message + " (retryable)");
  }
  return PermanentOutcome(error_type, message + " (permanent)");
}

DeliveryOutcome Call(DatabaseState& state, const EntityEvent& event) {
  const std::vector<std::optional<std::string>> params{DatabaseActionArgument(event, state.params).dump()};
  // One more try on a fresh connection when a reused one turns out to have broken while idle
  // (a server restart, an idle timeout): the common case after an outage should not cost a
  // delivery a retry delay. A repeat is allowed: deliveries are at-least-once.
  for (int round = 0;; ++round) {
    auto acquired = state.pool.Acquire();
    if (!acquired) return OutcomeOf(acquired.error(), state.function_name);
    if (!*acquired) {
      return RetryableOutcome("timeout", "calling " + state.function_name + ": all " +
                                             std::to_string(state.pool.max_open()) +
                                             " connections ([database] pool_size) stayed busy for " +
                                             std::to_string(state.pool.timeout().count()) + " ms (retryable)");
    }
    ConnectionPool::Lease& lease = **acquired;
    auto result = lease.connection.Execute(state.sql, params);
    const bool broke = !lease.connection.healthy();
    const bool reused = lease.reused;
    state.pool.Release(std::move(lease.connection));
    if (result) {
      DeliveryOutcome outcome;
      outcome.kind = DeliveryOutcomeKind::kSuccess;
      outcome.message = "called " + state.function_name;
      return outcome;
    }
    if (!(broke && reused && round == 0)) return OutcomeOf(result.error(), state.function_name);
  }
}

class DatabaseActionImpl final : public Action {
 public:
  DatabaseActionImpl(std::shared_ptr<DatabaseState> state, TaskRunner& blocking)
      : state_(std::move(state)), blocking_(blocking) {}

  const std::string& destination() const override { return state_->destination; }

  void Execute(const ActionCall& call, ActionCallback done) override {
    blocking_.Post(
        [state = state_, event = call.event, done = std::move(done)]() mutable { done(Call(*state, *event)); });
  }

 private:
  std::shared_ptr<DatabaseState> state_;
  TaskRunner& blocking_;
};

}  // namespace

nlohmann::json DatabaseActionArgument(const EntityEvent& event, const nlohmann::json& params) {
  return nlohmann::json{{"event", EventEnvelope(event)}, {"params", params}};
}

Result<std::unique_ptr<Action>> MakeDatabaseAction(const ActionConfig& config, const DatabaseAction& spec,
                                                   const ActionDependencies& deps) {
  if (!deps.database_url || deps.database_url->empty()) {
    return Error::InvalidArgument("a database action needs a database URL ([database] url or DATABASE_URL)");
  }
  if (deps.blocking == nullptr) return Error::InvalidArgument("a database action needs a blocking task runner");
  if (deps.database_pool_size == 0) return Error::InvalidArgument("a database action needs a pool size of at least 1");
  if (!IsFunctionName(spec.function_name)) {
    return Error::InvalidArgument("function_name \"" + spec.function_name +
                                  "\" is not name or schema.name, each [A-Za-z_][A-Za-z0-9_]*");
  }
  auto destination = PostgresDestination(*deps.database_url);
  if (!destination) return std::move(destination).error();
  const auto timeout =
      config.timeout > std::chrono::milliseconds::zero() ? config.timeout : std::chrono::milliseconds(30000);

  auto state = std::make_shared<DatabaseState>(*deps.database_url, timeout, deps.database_pool_size);
  state->function_name = spec.function_name;
  // function_name is an identifier or schema.identifier (checked above), so it can be spliced
  // into the statement; the event travels as a parameter.
  state->sql = "SELECT " + spec.function_name + "($1::jsonb)";
  state->params = spec.params;
  state->destination = std::move(*destination);
  return std::unique_ptr<Action>(std::make_unique<DatabaseActionImpl>(std::move(state), *deps.blocking));
}

}  // namespace fraiseql
