#include "listener/postgres_lease.h"

#include <charconv>
#include <utility>

namespace fraiseql {
namespace {

// EXCLUDED.epoch is one more than the stored checkpoint's epoch (0 when none): a new holder,
// or the same holder whose epoch the checkpoint has overtaken, gets an epoch above both.
constexpr std::string_view kTryAcquireSql = R"sql(
INSERT INTO observer_leases AS l (listener_id, holder, epoch, acquired_at, renewed_at, expires_at)
VALUES ($1::text, $2::text,
        COALESCE((SELECT lease_epoch FROM observer_checkpoints WHERE listener_id = $1::text), 0) + 1,
        now(), now(), now() + $3::bigint * interval '1 millisecond')
ON CONFLICT (listener_id) DO UPDATE
   SET holder = EXCLUDED.holder,
       epoch = CASE WHEN l.holder = EXCLUDED.holder AND l.epoch >= EXCLUDED.epoch - 1 THEN l.epoch
                    ELSE GREATEST(l.epoch, EXCLUDED.epoch - 1) + 1 END,
       acquired_at = CASE WHEN l.holder = EXCLUDED.holder AND l.epoch >= EXCLUDED.epoch - 1 THEN l.acquired_at
                          ELSE now() END,
       renewed_at = now(),
       expires_at = EXCLUDED.expires_at
 WHERE l.holder = EXCLUDED.holder OR l.expires_at <= now()
RETURNING epoch, (extract(epoch FROM expires_at) * 1000000)::bigint
)sql";

constexpr std::string_view kRenewSql = R"sql(
UPDATE observer_leases
   SET renewed_at = now(), expires_at = now() + $4::bigint * interval '1 millisecond'
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
  const std::optional<std::string> params[] = {std::string(listener_id), std::string(holder),
                                               std::to_string(ttl.count())};
  MutexLock lock(&mu_);
  return session_.Run<std::optional<Lease>>([&](PgConnection& conn) -> Result<std::optional<Lease>> {
    Result<PgResult> result = conn.Execute(kTryAcquireSql, params);
    if (!result) return std::move(result).error();
    return LeaseFrom(*result, listener_id, holder);
  });
}

Result<std::optional<Lease>> PostgresLeaseStore::Renew(const Lease& lease, std::chrono::milliseconds ttl) {
  FRAISEQL_RETURN_IF_ERROR(lease_internal::CheckArguments(lease.listener_id, lease.holder, ttl));
  const std::optional<std::string> params[] = {lease.listener_id, lease.holder, std::to_string(lease.epoch),
                                               std::to_string(ttl.count())};
  MutexLock lock(&mu_);
  return session_.Run<std::optional<Lease>>([&](PgConnection& conn) -> Result<std::optional<Lease>> {
    Result<PgResult> result = conn.Execute(kRenewSql, params);
    if (!result) return std::move(result).error();
    return LeaseFrom(*result, lease.listener_id, lease.holder);
  });
}

Result<bool> PostgresLeaseStore::Release(const Lease& lease) {
  const std::optional<std::string> params[] = {lease.listener_id, lease.holder, std::to_string(lease.epoch)};
  MutexLock lock(&mu_);
  return session_.Run<bool>([&](PgConnection& conn) -> Result<bool> {
    Result<PgResult> result = conn.Execute(kReleaseSql, params);
    if (!result) return std::move(result).error();
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
