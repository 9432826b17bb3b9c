// PgConnection and PgResult: RAII over libpq's PGconn and PGresult, with every failure returned
// as a Result whose code comes from db/sqlstate.h and whose message never holds a password.
// Thread-safety: a PgConnection is used by one thread at a time (libpq's rule), but may move
// between threads; a PgResult is immutable and may be read from several threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <libpq-fe.h>

#include "common/result.h"
#include "common/secret.h"

namespace fraiseql {

// The rows of one statement. Column and row numbers are 0-based.
class PgResult {
 public:
  explicit PgResult(PGresult* result) : result_(result) {}  // takes ownership

  size_t rows() const;
  size_t columns() const;
  // REQUIRES: column < columns().
  std::string_view column_name(size_t column) const;
  // The column's number, or nullopt when the result has no column of that name.
  std::optional<size_t> column_index(std::string_view name) const;
  // The value in text form, nullopt for NULL. The view lives as long as this PgResult.
  // REQUIRES: row < rows(), column < columns().
  std::optional<std::string_view> Get(size_t row, size_t column) const;
  bool is_null(size_t row, size_t column) const;
  // Rows an INSERT, UPDATE, DELETE, MERGE, SELECT... reported (its command tag), else 0.
  uint64_t affected_rows() const;

 private:
  friend class PgConnection;
  struct Clear {
    void operator()(PGresult* result) const { PQclear(result); }
  };
  std::unique_ptr<PGresult, Clear> result_;
};

// Statement parameters in text form; nullopt is SQL NULL.
using PgParams = std::span<const std::optional<std::string>>;

class PgConnection {
 public:
  // Connects to `url` (a postgresql:// URI or a key=value conninfo string). `timeout` bounds the
  // connection attempt; libpq counts it in whole seconds, at least 2, so it is rounded up.
  // Errors: kInvalidArgument when `url` does not parse; kUnavailable for every failure to connect,
  // a wrong password included (libpq gives no SQLSTATE for those, and a fixed configuration
  // should let retries succeed). Messages name "host:port/dbname" and never the password.
  static Result<PgConnection> Connect(const Secret& url, std::chrono::milliseconds timeout);

  PgConnection(PgConnection&&) noexcept = default;
  PgConnection& operator=(PgConnection&&) noexcept = default;
  ~PgConnection() = default;

  // Runs one statement with PQexecParams: `$1`.. take `params` as text (the server casts them,
  // so write `$1::jsonb` where the type matters). Multiple statements in `sql` are not allowed.
  // Errors: a server error is "SQLSTATE xxxxx: message[ (detail)][ (hint)]" coded by
  // ClassifySqlState (SqlStateOf() gives the code back); a lost connection is kUnavailable with
  // no SQLSTATE, and healthy() is false from then on.
  Result<PgResult> Execute(std::string_view sql, PgParams params);
  Result<PgResult> Execute(std::string_view sql) { return Execute(sql, PgParams()); }

  // Execute, through a statement prepared once per connection under `name` (parsing and
  // planning are most of a small statement's cost). When the server forgot it (SQLSTATE 26000:
  // DISCARD ALL, a pooler in transaction mode), it is prepared again and run once more; inside a
  // transaction that failure aborted the transaction, so the error is kAborted (retry the
  // transaction: the next try prepares anew). REQUIRES: one `sql` per name.
  Result<PgResult> ExecutePrepared(std::string_view name, std::string_view sql, PgParams params);

  // Runs a script of several statements with the simple protocol (no parameters): migrations.
  // Stops at the first error, which is returned as Execute's are.
  Result<void> ExecuteScript(std::string_view sql);

  // False once the connection broke (the server went away, or a statement found it lost);
  // such a connection stays broken: drop it and connect again.
  bool healthy() const;

  // "host:port/dbname", for messages (no user, no password).
  const std::string& description() const { return description_; }

  // The libpq handle, for db/ code that drives libpq directly (pipeline mode). Borrowed.
  PGconn* native() const { return conn_.get(); }

 private:
  struct Finish {
    void operator()(PGconn* conn) const { PQfinish(conn); }
  };
  PgConnection(PGconn* conn, std::string description) : conn_(conn), description_(std::move(description)) {}

  // The Error of a failed statement: the server's SQLSTATE (SqlStateError), or kUnavailable when
  // the connection is lost. `raw` may be null (libpq could not even allocate a result).
  Error StatementError(const PGresult* raw) const;
  // Keeps a successful result; turns any other into StatementError.
  Result<PgResult> Checked(PgResult result) const;

  std::unique_ptr<PGconn, Finish> conn_;
  std::string description_;
  std::vector<std::string> prepared_;  // names prepared on this connection
};

// "postgresql://host:port/dbname" for a connection URL or conninfo string: the form logs,
// metrics and Action::destination() show. Defaults fill what the URL leaves out (libpq's:
// localhost, 5432, the user name as the database). Never contains the user or the password.
// kInvalidArgument (without echoing the URL) when it does not parse.
Result<std::string> PostgresDestination(const Secret& url);

}  // namespace fraiseql
