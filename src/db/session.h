// PgSession: one database connection that connects on first use and, when a statement finds an
// idle connection lost (a restart, pg_terminate_backend), reconnects and runs that call once more.
// For single, idempotent statements: a call that may have committed must not use the retry.
// Thread-safety: none; its owner serialises calls (usually under its own mutex).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <utility>

#include "common/result.h"
#include "common/secret.h"
#include "db/connection.h"

namespace fraiseql {

class PgSession {
 public:
  // Runs on every new connection before it is used (session settings); an error fails the call.
  using OnConnect = std::function<Result<void>(PgConnection&)>;

  PgSession(Secret url, std::chrono::milliseconds connect_timeout, OnConnect on_connect = {})
      : url_(std::move(url)), connect_timeout_(connect_timeout), on_connect_(std::move(on_connect)) {}

  // `run(connection)`, connecting first when needed. When it fails because a connection that
  // was already open turned out to be lost, a new connection runs it once more.
  template <typename T, typename F>
  Result<T> Run(F&& run) {
    for (int attempt = 0;; ++attempt) {
      bool fresh = false;
      if (!conn_ || !conn_->healthy()) {
        FRAISEQL_RETURN_IF_ERROR(Connect());
        fresh = true;
      }
      Result<T> result = run(*conn_);
      if (!result && result.error().code == ErrorCode::kUnavailable && !conn_->healthy() && !fresh && attempt == 0) {
        continue;
      }
      return result;
    }
  }

  // The open connection, connecting first when there is none or it is lost.
  Result<PgConnection*> Get() {
    if (!conn_ || !conn_->healthy()) FRAISEQL_RETURN_IF_ERROR(Connect());
    return &*conn_;
  }
  // Counts the connections made: state tied to a connection (prepared statements) is valid only
  // for the generation it was made in.
  uint64_t generation() const { return generation_; }
  // Drops the connection (after an error that leaves it in an unknown state).
  void Reset() { conn_.reset(); }

 private:
  Result<void> Connect() {
    conn_.reset();
    Result<PgConnection> conn = PgConnection::Connect(url_, connect_timeout_);
    if (!conn) return std::move(conn).error();
    if (on_connect_) FRAISEQL_RETURN_IF_ERROR(on_connect_(*conn));
    conn_.emplace(std::move(conn).value());
    ++generation_;
    return Ok();
  }

  const Secret url_;
  const std::chrono::milliseconds connect_timeout_;
  const OnConnect on_connect_;
  std::optional<PgConnection> conn_;
  uint64_t generation_ = 0;
};

}  // namespace fraiseql
