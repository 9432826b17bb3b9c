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

// True when a failure of a statement writing a batch says nothing about the batch's content, so
// the batch must be retried whole, never split: errors without a SQLSTATE (a lost connection,
// a failed connect), class 08 connection exception, 40 transaction rollback (serialization,
// deadlock), 25 invalid transaction state (25006: a standby), 28 and 3D (authorization, a
// dropped database), 42 (a missing table or privilege: the database is not ready for us), 53100
// disk full and 53300 too many connections, 55 object not in prerequisite state (55P03 lock not
// available), 57P0x operator intervention, 58 system error, F0 configuration file error, and
// XX001/XX002 data corruption. Everything else (22 data exception, 23 integrity, 54 program limit
// exceeded: 54000 a value over 1 GB or a jsonb over 256 MB, 54001 stack depth; 53200 out of
// memory and 57014 a statement timeout, which a smaller batch may avoid; P0 a trigger's raise;
// XX000) may come from the rows, and a writer isolates them by splitting the batch.
bool FailsWhateverTheBatch(const Error& error);

// `error` as a batch writer reports it: kInvalidArgument when the batch's content may be at fault
// (split it to find the rows); otherwise a retryable code: kFailedPrecondition for class 42 and
// the other "not ready" classes that need someone to fix the database, the code it had for the
// rest (kUnavailable, kAborted). The SQLSTATE detail and the message are kept.
Error AsBatchFailure(Error error);

}  // namespace fraiseql
