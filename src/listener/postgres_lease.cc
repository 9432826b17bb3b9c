#include "listener/postgres_lease.h"

#include <charconv>
#include <utility>

namespace fraiseql {
namespace {

// The advisory lock of a listener id's lease (one bigint key space, shared with the
// application's own advisory locks: the prefix keeps ours apart from anything sensible).
constexpr std::string_view kLockKey = "hashtextextended('fraiseql-observer lease ' || $1::text, 0)";

// EXCLUDED.epoch is one more than the stored checkpoint's epoch (0 when none): a new holder,
// or the same holder whose epoch the checkpoint has overtaken, gets an epoch above both. $4:
// the caller holds the lease's advisory lock, so a holder that held it (session_lock) is gone.
// `before` is the row as it was, for the log's reason only (under a race it may be stale).
constexpr std::string_view kTryAcquireSql = R"sql(
WITH before AS (SELECT holder, expires_at <= now() AS expired FROM observer_leases WHERE listener_id = $1::text)
INSERT INTO observer_leases AS l (listener_id, holder, epoch, acquired_at, renewed_at, expires_at, session_lock)
VALUES ($1::text, $2::text,
        COALESCE((SELECT lease_epoch FROM observer_checkpoints WHERE listener_id = $1::text), 0) + 1,
        now(), now(), now() + $3::bigint * interval '1 millisecond', $4::boolean)
ON CONFLICT (listener_id) DO UPDATE
   SET holder = EXCLUDED.holder,
       epoch = CASE WHEN l.holder = EXCLUDED.holder AND l.epoch >= EXCLUDED.epoch - 1 THEN l.epoch
                    ELSE GREATEST(l.epoch, EXCLUDED.epoch - 1) + 1 END,
       acquired_at = CASE WHEN l.holder = EXCLUDED.holder AND l.epoch >= EXCLUDED.epoch - 1 THEN l.acquired_at
                          ELSE now() END,
       renewed_at = now(),
       expires_at = EXCLUDED.expires_at,
       session_lock = EXCLUDED.session_lock
 WHERE l.holder = EXCLUDED.holder OR l.expires_at <= now() OR (EXCLUDED.session_lock AND l.session_lock)
RETURNING epoch, (extract(epoch FROM expires_at) * 1000000)::bigint,
          (SELECT holder FROM before), (SELECT expired FROM before)
)sql";

constexpr std::string_view kRenewSql = R"sql(
UPDATE observer_leases
   SET renewed_at = now(), expires_at = now() + $4::bigint * interval '1 millisecond', session_lock = $5::boolean
 WHERE listener_id = $1::text AND holder = $2::text AND epoch = $3::bigint
RETURNING epoch, (extract(epoch FROM expires_at) * 1000000)::bigint
)sql";

constexpr std::string_view kReleaseSql = R"sql(
UPDATE observer_leases SET expires_at = LEAST(expires_at, now())
 WHERE listener_id = $1::text AND holder = $2::text AND epoch = $3::bigint
RETURNING 1
)sql";

constexpr std::string_view kCurrentSql = R"sql(
SELECT holder, epoch, (extract(epoch FROM expires_at) * 1000000)::bigint
  FROM observer_leases WHERE listener_id = $1::text
)sql";

constexpr std::string_view kHeldSql = R"sql(
SELECT 1 FROM observer_leases
 WHERE listener_id = $1::text AND holder = $2::text AND epoch = $3::bigint AND expires_at > now()
   FOR SHARE
)sql";

Result<int64_t> Int64At(const PgResult& result, size_t row, size_t column) {
  const std::optional<std::string_view> text = result.Get(row, column);
  int64_t value = 0;
  if (!text) return Error::Internal("unexpected NULL in observer_leases");
  auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (error != std::errc() || end != text->data() + text->size()) {
    return Error::Internal("observer_leases: '" + std::string(*text) + "' is not a number");
  }
  return value;
}

std::chrono::system_clock::time_point FromMicros(int64_t micros) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::microseconds(micros)));
}

// The lease a RETURNING epoch, expires_at row describes, or nullopt for no row.
Result<std::optional<Lease>> LeaseFrom(const PgResult& result, std::string_view listener_id, std::string_view holder) {
  if (result.rows() == 0) return std::optional<Lease>();
  Lease lease;
  lease.listener_id = std::string(listener_id);
  lease.holder = std::string(holder);
  FRAISEQL_ASSIGN_OR_RETURN(lease.epoch, Int64At(result, 0, 0));
  int64_t micros = 0;
  FRAISEQL_ASSIGN_OR_RETURN(micros, Int64At(result, 0, 1));
  lease.expires_at = FromMicros(micros);
  return std::optional<Lease>(std::move(lease));
}

// Why TryAcquire got the lease, from the row as it was before (TryAcquire's columns 2 and 3).
std::string TakeoverReason(const PgResult& result, std::string_view holder) {
  const std::optional<std::string_view> before = result.Get(0, 2);
  if (!before) return "no holder before";
  if (*before == holder) return "";  // its own lease, renewed
  const std::string previous(*before);
  if (result.Get(0, 3).value_or("f") == "t") return "the lease of " + previous + " expired or was released";
  return previous + "'s connection is gone (its advisory lock was free)";
}

}  // namespace

namespace lease_internal {

Result<void> CheckArguments(std::string_view listener_id, std::string_view holder, std::chrono::milliseconds ttl) {
  if (listener_id.empty() || listener_id.size() > 255) {
    return Error::InvalidArgument("a lease needs a listener id of 1 to 255 bytes");
  }
  if (holder.empty() || holder.size() > 255) {
    return Error::InvalidArgument("a lease needs a holder name of 1 to 255 bytes");
  }
  if (ttl <= std::chrono::milliseconds::zero()) {
    return Error::InvalidArgument("a lease needs a positive ttl, not " + std::to_string(ttl.count()) + " ms");
  }
  return Ok();
}

}  // namespace lease_internal

Result<std::optional<Lease>> PostgresLeaseStore::TryAcquire(std::string_view listener_id, std::string_view holder,
                                                       std::chrono::milliseconds ttl) {
  FRAISEQL_RETURN_IF_ERROR(lease_internal::CheckArguments(listener_id, holder, ttl));
  MutexLock lock(&mu_);
  return session_.Run<std::optional<Lease>>([&](PgConnection& conn) -> Result<std::optional<Lease>> {
    mu_.AssertHeld();  // Run calls this lambda before it returns
    bool locked = false;
    FRAISEQL_ASSIGN_OR_RETURN(locked, LockFor(conn, listener_id, holder));
    const std::optional<std::string> params[] = {std::string(listener_id), std::string(holder),
                                                 std::to_string(ttl.count()), locked ? "true" : "false"};
    Result<PgResult> result = conn.Execute(kTryAcquireSql, params);
    if (!result) return std::move(result).error();
    Result<std::optional<Lease>> lease = LeaseFrom(*result, listener_id, holder);
    if (!lease) return lease;
    if (*lease) {
      (*lease)->acquired_because = TakeoverReason(*result, holder);
    } else {
      FRAISEQL_RETURN_IF_ERROR(Unlock(conn, listener_id, holder));  // the holder's, until it is gone
    }
    return lease;
  });
}

Result<bool> PostgresLeaseStore::LockFor(PgConnection& conn, std::string_view listener_id, std::string_view holder) {
  auto held = locks_.find(std::string(listener_id));
  if (held != locks_.end() && held->second.generation != session_.generation()) {
    locks_.erase(held);  // taken on a connection since lost: PostgreSQL released it with it
    held = locks_.end();
  }
  // Another holder of this process (tests run several in one store) has it on this session,
  // where taking it again would succeed: to this holder it is not free.
  if (held != locks_.end()) return held->second.holder == holder;
  const std::optional<std::string> params[] = {std::string(listener_id)};
  Result<PgResult> result = conn.Execute("SELECT pg_try_advisory_lock(" + std::string(kLockKey) + ")", params);
  if (!result) return std::move(result).error();
  const bool taken = result->Get(0, 0).value_or("f") == "t";
  if (taken) locks_[std::string(listener_id)] = HeldLock{std::string(holder), session_.generation()};
  return taken;
}

Result<void> PostgresLeaseStore::Unlock(PgConnection& conn, std::string_view listener_id, std::string_view holder) {
  auto held = locks_.find(std::string(listener_id));
  if (held == locks_.end() || held->second.holder != holder) return Ok();
  const bool same_connection = held->second.generation == session_.generation();
  locks_.erase(held);
  if (!same_connection) return Ok();
  const std::optional<std::string> params[] = {std::string(listener_id)};
  Result<PgResult> result = conn.Execute("SELECT pg_advisory_unlock(" + std::string(kLockKey) + ")", params);
  if (!result) return std::move(result).error();
  return Ok();
}

Result<std::optional<Lease>> PostgresLeaseStore::Renew(const Lease& lease, std::chrono::milliseconds ttl) {
  FRAISEQL_RETURN_IF_ERROR(lease_internal::CheckArguments(lease.listener_id, lease.holder, ttl));
  MutexLock lock(&mu_);
  return session_.Run<std::optional<Lease>>([&](PgConnection& conn) -> Result<std::optional<Lease>> {
    mu_.AssertHeld();  // Run calls this lambda before it returns
    // A holder that took the lease without the lock (it expired while a frozen holder's
    // connection still held it), or whose connection was replaced, takes it when it can.
    bool locked = false;
    FRAISEQL_ASSIGN_OR_RETURN(locked, LockFor(conn, lease.listener_id, lease.holder));
    const std::optional<std::string> params[] = {lease.listener_id, lease.holder, std::to_string(lease.epoch),
                                                 std::to_string(ttl.count()), locked ? "true" : "false"};
    Result<PgResult> result = conn.Execute(kRenewSql, params);
    if (!result) return std::move(result).error();
    Result<std::optional<Lease>> renewed = LeaseFrom(*result, lease.listener_id, lease.holder);
    if (renewed && !*renewed) FRAISEQL_RETURN_IF_ERROR(Unlock(conn, lease.listener_id, lease.holder));  // taken over
    return renewed;
  });
}

Result<bool> PostgresLeaseStore::Release(const Lease& lease) {
  const std::optional<std::string> params[] = {lease.listener_id, lease.holder, std::to_string(lease.epoch)};
  MutexLock lock(&mu_);
  return session_.Run<bool>([&](PgConnection& conn) -> Result<bool> {
    mu_.AssertHeld();  // Run calls this lambda before it returns
    Result<PgResult> result = conn.Execute(kReleaseSql, params);
    if (!result) return std::move(result).error();
    FRAISEQL_RETURN_IF_ERROR(Unlock(conn, lease.listener_id, lease.holder));
    return result->rows() > 0;
  });
}

Result<std::optional<Lease>> PostgresLeaseStore::Current(std::string_view listener_id) {
  const std::optional<std::string> params[] = {std::string(listener_id)};
  MutexLock lock(&mu_);
  return session_.Run<std::optional<Lease>>([&](PgConnection& conn) -> Result<std::optional<Lease>> {
    Result<PgResult> result = conn.Execute(kCurrentSql, params);
    if (!result) return std::move(result).error();
    if (result->rows() == 0) return std::optional<Lease>();
    Lease lease;
    lease.listener_id = std::string(listener_id);
    lease.holder = std::string(result->Get(0, 0).value_or(""));
    FRAISEQL_ASSIGN_OR_RETURN(lease.epoch, Int64At(*result, 0, 1));
    int64_t micros = 0;
    FRAISEQL_ASSIGN_OR_RETURN(micros, Int64At(*result, 0, 2));
    lease.expires_at = FromMicros(micros);
    return std::optional<Lease>(std::move(lease));
  });
}

Result<bool> PostgresLeaseStore::HeldInTransaction(PgConnection& tx, const Lease& lease) {
  const std::optional<std::string> params[] = {lease.listener_id, lease.holder, std::to_string(lease.epoch)};
  Result<PgResult> result = tx.Execute(kHeldSql, params);
  if (!result) return std::move(result).error();
  return result->rows() > 0;
}

}  // namespace fraiseql
