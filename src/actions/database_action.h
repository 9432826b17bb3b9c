// Database action: calls a PostgreSQL function, `SELECT fn($1::jsonb)`, with
// {"event": <envelope>, "params": <the action's params>} once per attempt, on the blocking
// TaskRunner, over at most [database] pool_size reused connections.
// Thread-safety: Execute() may run concurrently; the connections are shared under a mutex.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "actions/action.h"

namespace fraiseql {

// The function's argument: {"event": EventEnvelope(event), "params": params}.
nlohmann::json DatabaseActionArgument(const EntityEvent& event, const nlohmann::json& params);

// REQUIRES (else kInvalidArgument): deps.database_url (a URL libpq parses), deps.blocking and
// deps.database_pool_size >= 1.
// config.timeout is the call's statement_timeout and bounds connecting. The action opens at most
// deps.database_pool_size connections ([database] pool_size) and keeps them for the next calls; a
// call that finds them all busy waits for one, up to config.timeout, then is retryable with
// error_type "timeout". One found broken is replaced, and a call that failed because its reused
// connection had broken is tried once more on a fresh one. Outcomes: success when the function
// returns; retryable for lost connections and SQLSTATE class 08, 40001, 40P01, 57P0x, 57014
// (statement timeout) and the other codes db/sqlstate.h calls transient; otherwise permanent, the
// SQLSTATE in the message. error_type is "sql_<class>" ("sql_42"), "sql_08" for a connection
// without one.
// destination() is "postgresql://host:port/dbname", without user or password.
Result<std::unique_ptr<Action>> MakeDatabaseAction(const ActionConfig& config, const DatabaseAction& spec,
                                                   const ActionDependencies& deps);

}  // namespace fraiseql
