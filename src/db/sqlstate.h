// SQLSTATE classification: the one place a PostgreSQL error code becomes an ErrorCode, and so a
// retry decision, for every caller of db/ (actions, queue, checkpoint, listener).
// Thread-safety: pure functions.
#pragma once

#include <string_view>

#include "common/result.h"

namespace fraiseql {

// Errors from db/ that carry a server's SQLSTATE have it as their detail in this domain (and,
// for people, at the start of their message: "SQLSTATE 42883: function nope(jsonb) does not exist").
inline constexpr std::string_view kSqlStateDomain = "sqlstate";
inline constexpr std::string_view kSqlStatePrefix = "SQLSTATE ";

// The retry policy of a SQLSTATE (PostgreSQL manual, appendix A):
//   kUnavailable (retry the call): class 08 connection exception, class 53 insufficient
//     resources, 57P0x operator intervention (57P01 admin shutdown, 57P02 crash shutdown,
//     57P03 cannot connect now, 57P04 database dropped, 57P05 idle session timeout), 57014 query
//     canceled (statement_timeout: a timeout like any other), 55P03 lock not available, 25006
//     read-only transaction (we reached a standby, e.g. during a failover);
//   kAborted (retry the transaction): 40001 serialization failure, 40P01 deadlock detected;
//   kInvalidArgument (do not retry: the statement or its data is wrong): class 22 data
//     exception, 23 integrity constraint violation, 42 syntax error or access rule violation
//     (42601 syntax, 42883 undefined function, 42P01 undefined table...), P0 PL/pgSQL raise;
//   kInternal: everything else (XX internal error, 58 system error, unknown codes).
// A lost connection has no SQLSTATE; connection.h reports it as kUnavailable.
ErrorCode ClassifySqlState(std::string_view sqlstate);

// The SQLSTATE an Error from db/ carries, or "" when it has none (a lost connection, a failed
// connect, a client-side problem). The view points into `error`.
inline std::string_view SqlStateOf(const Error& error) { return error.DetailCode(kSqlStateDomain); }

// The Error of a server's SQLSTATE: its code from ClassifySqlState, the SQLSTATE as its detail,
// and "SQLSTATE <code>: <text>" as its message.
Error SqlStateError(std::string_view sqlstate, std::string_view text);

// The class of a SQLSTATE, its first two characters ("42" for "42883"); "" when not 5 long.
std::string_view SqlStateClass(std::string_view sqlstate);

// True when the server refused a statement's data: SQLSTATE class 22 (data exception) or 23
// (integrity constraint violation). A batch holding such data is split to find the part at fault.
bool RefusesData(const Error& error);

// `error`, kInvalidArgument only when the server refused the data (RefusesData). The server's
// other refusals (class 42: a missing table, a privilege) mean the database is not ready for us,
// not that our data is wrong: kFailedPrecondition, retried until someone fixes the database.
// Errors without a SQLSTATE are returned unchanged.
Error DataRefusalOrNotReady(Error error);

}  // namespace fraiseql
